"""SageMaker PyTorch serving handler, copied into every model as code/inference.py."""
