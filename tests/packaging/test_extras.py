"""The import names checked for each extra are the ones ``pyproject.toml``'s extras install."""

from __future__ import annotations

import importlib.metadata
import tomllib

import pytest
from packaging.requirements import Requirement

from milkmobs.domain import ConfigurationError
from milkmobs.extras import BACKEND_EXTRAS, EXTRA_MODULES, require_backend_extra, require_extra
from milkmobs.settings import Backend
from tests.packaging.conftest import REPO


def _declared(extra: str) -> set[str]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return {Requirement(r).name.lower() for r in project["optional-dependencies"][extra]}


@pytest.mark.parametrize("extra", sorted(EXTRA_MODULES))
def test_checked_modules_are_exactly_what_the_extra_installs(extra: str) -> None:
    owners = importlib.metadata.packages_distributions()  # import name -> distributions (as installed here)
    checked = {module: {d.lower() for d in owners.get(module, [])} for module in EXTRA_MODULES[extra]}
    declared = _declared(extra)
    for module, dists in checked.items():
        assert dists, f"{module} is not installed by any distribution here"
        # botocore comes with boto3: a dependency of the extra, checked because the adapters import it.
        assert dists & declared or module == "botocore", f"{module} ({dists}) is not part of milkmobs[{extra}]"
    provided = set().union(*checked.values())
    assert declared <= provided, f"milkmobs[{extra}] installs {sorted(declared - provided)}, never checked"


def test_every_backend_but_memory_names_its_extra() -> None:
    assert set(BACKEND_EXTRAS) == set(Backend) - {Backend.MEMORY}
    require_backend_extra(Backend.MEMORY)  # the core install is enough


def test_a_missing_module_is_one_line_naming_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(EXTRA_MODULES, "media", ("PIL", "no_such_module_here"))
    with pytest.raises(ConfigurationError) as caught:
        require_extra("media", needed_by="the local backend")
    message = caught.value.message
    assert "\n" not in message and "no_such_module_here" in message and "PIL" not in message
    assert message.endswith("pip install 'milkmobs[media]'")
    with pytest.raises(ConfigurationError, match=r"milkmobs\[media\]"):
        require_backend_extra("local")
