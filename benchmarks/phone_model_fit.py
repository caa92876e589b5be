"""The torch half of ``train_phone_model.py``: the network, its CTC training and the ONNX export.
Runs in a virtualenv of its own (torch, numpy, onnx); milkmobs never imports torch."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import torch
from torch import nn

N_MELS = 40
CLASSES = 40  # 39 phones and the CTC blank (the last)
WIDTH = 160
BLOCKS = 6


class Block(nn.Module):
    """A depthwise-separable convolution with a residual connection."""

    def __init__(self, width: int, kernel: int) -> None:
        super().__init__()
        self.depthwise = nn.Conv1d(width, width, kernel, padding=kernel // 2, groups=width)
        self.pointwise = nn.Conv1d(width, width, 1)
        self.norm = nn.BatchNorm1d(width)
        self.drop = nn.Dropout(0.1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.drop(torch.relu(self.norm(self.pointwise(self.depthwise(x)))))


class PhoneNet(nn.Module):
    """(batch, frames, N_MELS) log-mel features in, (batch, frames / 2, CLASSES) log-probabilities out."""

    def __init__(self) -> None:
        super().__init__()
        self.front = nn.Sequential(
            nn.Conv1d(N_MELS, WIDTH, 5, padding=2),
            nn.BatchNorm1d(WIDTH),
            nn.ReLU(),
            nn.Conv1d(WIDTH, WIDTH, 5, stride=2, padding=2),
            nn.BatchNorm1d(WIDTH),
            nn.ReLU(),
        )
        self.blocks = nn.Sequential(*(Block(WIDTH, 9) for _ in range(BLOCKS)))
        self.out = nn.Conv1d(WIDTH, CLASSES, 1)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        x = self.blocks(self.front(features.transpose(1, 2)))
        return torch.log_softmax(self.out(x), dim=1).transpose(1, 2)


def out_frames(frames: np.ndarray) -> np.ndarray:
    return (frames - 1) // 2 + 1


def _spec_augment(x: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
    """A random band and a random stretch of time masked in each clip (a little robustness)."""
    x = x.clone()
    for i in range(x.shape[0]):
        _mask(x[i], rng, bands=6, frames=8)
    return x


def _mask(clip: torch.Tensor, rng: np.random.Generator, *, bands: int, frames: int) -> None:
    """Zero one random run of fewer than ``bands`` mel bands and one of fewer than ``frames`` frames."""
    band = int(rng.integers(0, bands))
    low = int(rng.integers(0, N_MELS - band))
    clip[:, low : low + band] = 0
    span = int(rng.integers(0, frames))
    at = int(rng.integers(0, max(1, clip.shape[0] - span)))
    clip[at : at + span] = 0


def _warp_bands(x: torch.Tensor, rng: np.random.Generator, share: float) -> torch.Tensor:
    """Each clip's mel axis stretched or squeezed by a random factor (0.82 to 1.22) in ``share`` of the
    clips: a vocal tract longer or shorter than any voice of the training data (and, with
    ``_spec_augment``'s masks, a little robustness to voices it never heard)."""
    x = x.clone()
    bands = torch.arange(N_MELS, dtype=torch.float32)
    for i in range(x.shape[0]):
        if rng.random() >= share:
            continue
        factor = float(np.exp(rng.uniform(np.log(0.82), np.log(1.22))))
        source = (bands / factor).clamp(0, N_MELS - 1)  # band b reads band b / factor of the clip
        low = source.floor().long()
        high = (low + 1).clamp(max=N_MELS - 1)
        weight = source - low
        x[i] = x[i][:, low] * (1 - weight) + x[i][:, high] * weight
    return x


def _strong_augment(x: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
    """Band warping in 80 % of the clips, then two band masks (up to 7 bands) and two time masks (up
    to 12 frames) in each."""
    x = _warp_bands(x, rng, 0.8)
    for i in range(x.shape[0]):
        for _ in range(2):
            _mask(x[i], rng, bands=8, frames=13)
    return x


def load_exported(model: PhoneNet, path: str) -> None:
    """Starts ``model`` from an exported phone model. The export folded each batch norm into the
    convolution before it, so the norms become identities, frozen (kept in eval mode by ``_train``)."""
    import onnx
    from onnx import numpy_helper

    graph = onnx.load(path).graph
    weights = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    convs = [n.input[1:] for n in graph.node if n.op_type == "Conv"]
    layers: list[nn.Conv1d] = [model.front[0], model.front[3]]  # type: ignore[list-item]
    for block in model.blocks:
        layers += [block.depthwise, block.pointwise]  # type: ignore[union-attr]
    layers.append(model.out)
    assert len(convs) == len(layers), (len(convs), len(layers))
    with torch.no_grad():
        for layer, (weight, bias) in zip(layers, convs, strict=True):
            layer.weight.copy_(torch.from_numpy(weights[weight]))
            layer.bias.copy_(torch.from_numpy(weights[bias]))  # type: ignore[union-attr]
        for norm in model.modules():
            if isinstance(norm, nn.BatchNorm1d):
                norm.weight.fill_(1.0)
                norm.bias.zero_()
                norm.running_mean.zero_()  # type: ignore[union-attr]
                norm.running_var.fill_(1.0 - norm.eps)  # type: ignore[union-attr]
                norm.requires_grad_(False)


def _train(model: PhoneNet, frozen_norms: bool) -> None:
    model.train()
    if frozen_norms:
        for norm in model.modules():
            if isinstance(norm, nn.BatchNorm1d):
                norm.eval()


def fit_and_export(
    data_paths: list[str],
    out: str,
    *,
    minutes: float,
    seed: int,
    report_every: int = 200,
    init: str | None = None,
    lr: float = 3e-3,
    strong: bool = False,
    threads: int = 1,
) -> None:
    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    parts = [np.load(p) for p in data_paths]
    feats, flen = (np.concatenate([d[k] for d in parts]) for k in ("features", "feature_lengths"))
    targets, tlen = (np.concatenate([d[k] for d in parts]) for k in ("targets", "target_lengths"))
    foff = np.concatenate([[0], np.cumsum(flen)])
    toff = np.concatenate([[0], np.cumsum(tlen)])
    usable = np.flatnonzero(out_frames(flen) >= 2 * tlen + 1)
    held = min(400, len(usable) // 10)
    valid, train = usable[:held], usable[held:]
    print(f"{len(train)} training clips, {len(valid)} validation clips, {len(flen) - len(usable)} too fast", flush=True)

    def batch(ids: np.ndarray) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        longest = int(flen[ids].max())
        x = np.zeros((len(ids), longest, N_MELS), np.float32)
        for k, i in enumerate(ids):
            x[k, : flen[i]] = feats[foff[i] : foff[i + 1]]
        y = np.concatenate([targets[toff[i] : toff[i + 1]] for i in ids]).astype(np.int64)
        x_lengths = torch.from_numpy(out_frames(flen[ids]).astype(np.int64))
        return torch.from_numpy(x), torch.from_numpy(y), x_lengths, torch.from_numpy(tlen[ids].astype(np.int64))

    model = PhoneNet()
    print(f"{sum(p.numel() for p in model.parameters())} parameters", flush=True)
    if init:
        load_exported(model, init)
        print(f"started from {init}: valid PER {phone_error_rate(model, batch, valid):.3f}", flush=True)
    ctc = nn.CTCLoss(blank=CLASSES - 1, zero_infinity=True)
    trained = [p for p in model.parameters() if p.requires_grad]
    optimiser = torch.optim.AdamW(trained, lr=lr, weight_decay=1e-4)
    budget = minutes * 60
    started = time.monotonic()
    frames_per_batch = 12000  # about 40 clips of 3 s
    order = train[np.argsort(flen[train])]
    step = 0
    while time.monotonic() - started < budget:
        batches = []
        i = 0
        while i < len(order):  # clips of similar length together
            n = max(1, frames_per_batch // int(flen[order[min(i + 7, len(order) - 1)]]))
            batches.append(order[i : i + n])
            i += n
        for k in rng.permutation(len(batches)):
            elapsed = time.monotonic() - started
            if elapsed >= budget:
                break
            for group in optimiser.param_groups:  # warm up, then cosine down to zero at the budget
                group["lr"] = lr * min(1.0, (step + 1) / 300) * 0.5 * (1 + np.cos(np.pi * elapsed / budget))
            _train(model, frozen_norms=init is not None)
            x, y, xl, yl = batch(batches[k])
            augmented = _strong_augment(x, rng) if strong else _spec_augment(x, rng)
            loss = ctc(model(augmented).transpose(0, 1), y, xl, yl)
            optimiser.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(trained, 5.0)
            optimiser.step()
            step += 1
            if step % report_every == 0:
                print(f"step {step}  {elapsed / 60:.1f} min  loss {loss.item():.3f}  "
                      f"valid PER {phone_error_rate(model, batch, valid):.3f}", flush=True)  # fmt: skip
    print(f"done: {step} steps, valid PER {phone_error_rate(model, batch, valid):.3f}", flush=True)
    export(model, out)


def phone_error_rate(model: PhoneNet, batch: Any, ids: np.ndarray) -> float:
    """Greedy-decoded phone error rate (edits / reference phones) on ``ids``."""
    model.eval()
    edits = total = 0
    with torch.no_grad():
        for first in range(0, len(ids), 50):
            x, y, xl, yl = batch(ids[first : first + 50])
            best = model(x).argmax(-1).numpy()
            refs = np.split(y.numpy(), np.cumsum(yl.numpy())[:-1])
            for row, length, ref in zip(best, xl.numpy(), refs, strict=True):
                path = row[:length]
                hyp = [int(c) for j, c in enumerate(path) if c != CLASSES - 1 and (j == 0 or c != path[j - 1])]
                edits += _edit_distance(list(ref), hyp)
                total += len(ref)
    return edits / max(total, 1)


def _edit_distance(a: list[int], b: list[int]) -> int:
    previous = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        current = [i]
        for j, y in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x != y)))
        previous = current
    return previous[-1]


def export(model: PhoneNet, out: str) -> None:
    model.eval()
    example = torch.zeros(1, 300, N_MELS)
    torch.onnx.export(
        model, (example,), out, input_names=["features"], output_names=["log_probs"],
        dynamic_axes={"features": {0: "batch", 1: "frames"}, "log_probs": {0: "batch", 1: "steps"}},
        opset_version=17, dynamo=False,
    )  # fmt: skip
    print(f"wrote {out}", flush=True)
