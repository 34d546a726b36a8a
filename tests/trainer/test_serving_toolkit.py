"""The serving handler inside the real SageMaker inference toolkit (sagemaker_inference's Transformer).

REAL: the toolkit's Transformer loads the model's own code/inference.py as the serving container
does (SAGEMAKER_PROGRAM), runs model_fn on a saved model folder, and turns the handler's errors into
HTTP statuses. STANDS IN: the model server's request context (multi-model-server's Context), a small
object with the four members the Transformer uses.
"""

from __future__ import annotations

import io
import json
import shutil
import sys

import numpy as np
import pytest

pytest.importorskip("sagemaker_inference")


class ServerContext:
    """What multi-model-server hands the Transformer per request."""

    def __init__(self, model_dir, headers):
        self.system_properties = {"model_dir": str(model_dir)}
        self.request_processor = [self]
        self.headers, self.status, self.content_type = headers, 200, None

    def get_request_properties(self):
        return self.headers

    def set_response_content_type(self, index, content_type):
        self.content_type = content_type

    def set_response_status(self, code, phrase):
        self.status = code


@pytest.fixture(scope="module")
def served_model(tmp_path_factory):
    import torch

    from trainer.artifact import ModelMeta, save_model_dir
    from trainer.model import build_model

    torch.manual_seed(0)
    out = save_model_dir(build_model("mobilenet_v3_large"), ModelMeta(image_size=64),
                         tmp_path_factory.mktemp("model") / "model")
    code = tmp_path_factory.mktemp("code")
    shutil.copy(out / "code" / "inference.py", code / "roadseg_serving.py")  # a name no test package shadows
    return out, code


@pytest.fixture
def transformer(served_model, monkeypatch):
    from sagemaker_inference.default_inference_handler import DefaultInferenceHandler
    from sagemaker_inference.transformer import Transformer

    out, code = served_model
    monkeypatch.syspath_prepend(str(code))
    monkeypatch.setenv("SAGEMAKER_PROGRAM", "roadseg_serving.py")
    monkeypatch.delenv("SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT", raising=False)
    monkeypatch.delitem(sys.modules, "roadseg_serving", raising=False)
    return Transformer(default_inference_handler=DefaultInferenceHandler()), out


def _npy(image):
    buf = io.BytesIO()
    np.save(buf, image)
    return buf.getvalue()


def test_without_accept_the_answer_is_the_toolkits_default_json(transformer):
    toolkit, model_dir = transformer
    image = (np.random.default_rng(0).random((40, 50, 3)) * 255).astype(np.uint8)
    context = ServerContext(model_dir, {"Content-Type": "application/x-npy"})
    [body] = toolkit.transform([{"body": _npy(image)}], context)
    assert context.status == 200 and context.content_type == "application/json"
    answer = json.loads(body)
    assert (answer["height"], answer["width"]) == (40, 50) and "mask_png_base64" in answer
    context = ServerContext(model_dir, {"Content-Type": "application/x-npy", "Accept": "image/png"})
    [png] = toolkit.transform([{"body": _npy(image)}], context)
    assert context.content_type == "image/png" and png.startswith(b"\x89PNG")


def test_an_unsupported_content_type_is_415_and_an_unsupported_accept_406(transformer):
    toolkit, model_dir = transformer
    context = ServerContext(model_dir, {"Content-Type": "text/csv"})
    [message] = toolkit.transform([{"body": b"1,2,3"}], context)
    assert context.status == 415 and "unsupported content type 'text/csv'" in message
    image = np.zeros((8, 8, 3), np.uint8)
    context = ServerContext(model_dir, {"Content-Type": "application/x-npy", "Accept": "text/html"})
    [message] = toolkit.transform([{"body": _npy(image)}], context)
    assert context.status == 406 and "unsupported accept type 'text/html'" in message
