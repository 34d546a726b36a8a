"""Road segmentation training and inference.

This package ships alone as the SageMaker ``source_dir``: it must never import
Qt or ``roadseg_gui`` (tests/test_boundaries.py enforces it), and it must run on
the AWS PyTorch training images (PyTorch 2.5+, Python 3.11+).
"""

__version__ = "0.1.0"
