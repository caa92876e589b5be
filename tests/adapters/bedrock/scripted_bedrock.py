"""``ScriptedBedrock``: answers a real ``bedrock-runtime`` client's calls in any order, like Bedrock would.

botocore's Stubber needs the exact call sequence up front; the Analyzer contract suite calls
the analyzer in its own order. This uses the same botocore hooks the Stubber uses
(``before-parameter-build`` to see the request, ``before-call`` to answer it without HTTP),
checks each request against the documented contract, answers from ``tests/fixtures/bedrock``,
and — as Bedrock does — reads the input video from S3 (moto) and writes the async
``output.json`` there.
"""

from __future__ import annotations

import hashlib
import io
import json
from datetime import UTC, datetime
from typing import Any

from botocore.awsrequest import AWSResponse
from botocore.response import StreamingBody
from tests.adapters.bedrock.bedrock_rig import FIXTURES, OWNER, REGION

PEGASUS_KEYS = {"inputPrompt", "mediaSource", "temperature", "maxOutputTokens", "responseFormat"}


def _error(code: str, message: str, status: int = 400) -> tuple[AWSResponse, dict[str, Any]]:
    return AWSResponse(None, status, {}, None), {
        "Error": {"Code": code, "Message": message},
        "ResponseMetadata": {"HTTPStatusCode": status},
    }


class ScriptedBedrock:
    """Attach to a client with ``ScriptedBedrock(runtime, s3)``; ``calls`` lists the operations seen."""

    def __init__(self, runtime: Any, s3: Any, *, polls_before_done: int = 1) -> None:
        self._s3 = s3
        self._polls_before_done = polls_before_done
        self._jobs: dict[str, dict[str, Any]] = {}
        self.calls: list[str] = []
        runtime.meta.events.register("before-parameter-build.bedrock-runtime.*", self._capture)
        runtime.meta.events.register("before-call.bedrock-runtime.*", self._answer)

    def _capture(self, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["scripted_params"] = dict(params)

    def _answer(self, model: Any, context: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        params = context["scripted_params"]
        self.calls.append(model.name)
        handler = getattr(self, f"_{model.name}", None)
        if handler is None:
            return _error("ValidationException", f"{model.name} is not scripted")
        return handler(params)

    def _object_exists(self, uri: str) -> bool:
        bucket, _, key = uri.removeprefix("s3://").partition("/")
        try:
            self._s3.head_object(Bucket=bucket, Key=key)
        except self._s3.exceptions.ClientError:
            return False
        return True

    def _InvokeModel(self, params: dict[str, Any]) -> tuple[AWSResponse, dict[str, Any]]:
        body = json.loads(params["body"])
        model_id = params["modelId"]
        if "pegasus" in model_id:
            assert set(body) == PEGASUS_KEYS, sorted(body)
            assert set(body["mediaSource"]["s3Location"]) == {"uri", "bucketOwner"}
            if not self._object_exists(body["mediaSource"]["s3Location"]["uri"]):
                return _error("ValidationException", "The provided S3 object could not be read")
            raw, headers = (
                (FIXTURES / "pegasus_insights.json").read_bytes(),
                {
                    "x-amzn-bedrock-input-token-count": "1500",
                    "x-amzn-bedrock-output-token-count": "180",
                },
            )
        elif "marengo-embed-3-0" in model_id:
            assert body == {"inputType": "text", "text": {"inputText": body["text"]["inputText"]}}
            raw, headers = (FIXTURES / "marengo30_text_response.json").read_bytes(), {}
        elif "marengo-embed-2-7" in model_id:
            assert set(body) == {"inputType", "inputText", "textTruncate"} and body["inputType"] == "text"
            raw, headers = (FIXTURES / "marengo27_text_response.json").read_bytes(), {}
        else:
            return _error("ResourceNotFoundException", f"model {model_id} not found", 404)
        return AWSResponse(None, 200, {}, None), {
            "body": StreamingBody(io.BytesIO(raw), len(raw)),
            "contentType": "application/json",
            "ResponseMetadata": {"HTTPStatusCode": 200, "HTTPHeaders": headers},
        }

    def _StartAsyncInvoke(self, params: dict[str, Any]) -> tuple[AWSResponse, dict[str, Any]]:
        model_id, model_input = params["modelId"], params["modelInput"]
        assert "." not in model_id.split("twelvelabs")[0], "StartAsyncInvoke takes the base model id"
        version_30 = "marengo-embed-3-0" in model_id
        media = model_input["video"]["mediaSource"] if version_30 else model_input["mediaSource"]
        if not self._object_exists(media["s3Location"]["uri"]):
            return _error("ValidationException", "The provided S3 object could not be read")
        invocation_id = hashlib.sha256(params["clientRequestToken"].encode()).hexdigest()[:12]
        arn = f"arn:aws:bedrock:{REGION}:{OWNER}:async-invoke/{invocation_id}"
        if arn not in self._jobs:  # the same token is the same job
            output_uri = params["outputDataConfig"]["s3OutputDataConfig"]["s3Uri"]
            fixture = "marengo30_video_output.json" if version_30 else "marengo27_video_output.json"
            bucket, _, prefix = output_uri.removeprefix("s3://").partition("/")
            key = f"{prefix.rstrip('/')}/{invocation_id}/output.json".lstrip("/")
            self._s3.put_object(Bucket=bucket, Key=key, Body=(FIXTURES / fixture).read_bytes())
            self._jobs[arn] = {"polls": 0, "model_id": model_id, "output_uri": output_uri}
        return AWSResponse(None, 200, {}, None), {"invocationArn": arn}

    def _GetAsyncInvoke(self, params: dict[str, Any]) -> tuple[AWSResponse, dict[str, Any]]:
        job = self._jobs.get(params["invocationArn"])
        if job is None:
            return _error("ValidationException", "unknown invocation")
        job["polls"] += 1
        status = "Completed" if job["polls"] > self._polls_before_done else "InProgress"
        return AWSResponse(None, 200, {}, None), {
            "invocationArn": params["invocationArn"],
            "modelArn": f"arn:aws:bedrock:{REGION}::foundation-model/{job['model_id']}",
            "status": status,
            "submitTime": datetime(2026, 11, 26, tzinfo=UTC),
            "outputDataConfig": {"s3OutputDataConfig": {"s3Uri": job["output_uri"]}},
        }
