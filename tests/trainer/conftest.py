import pytest
import torch


@pytest.fixture
def offline_training(monkeypatch):
    """No pretrained download, and at most 2 torch threads for the test's training (restored after)."""
    monkeypatch.setenv("ROADSEG_PRETRAINED", "0")
    threads = torch.get_num_threads()
    torch.set_num_threads(min(2, threads))
    yield
    torch.set_num_threads(threads)
