"""``roadseg train --data DIR --out DIR``: train locally with the same code SageMaker runs."""

from __future__ import annotations


def register(subparsers) -> None:
    from trainer.train_args import build_parser

    parser = subparsers.add_parser(
        "train", parents=[build_parser(add_help=False)], help="train the road model on this machine",
        description="Train DeepLabV3 on DIR/{train,test}/{images,masks} and write a model folder to --out "
                    "(model.pth, model.json, code/). One key=value line per epoch on stdout; a checkpoint "
                    "every epoch (OUT/checkpoints by default), from which a rerun resumes.")
    parser.set_defaults(func=run)


def run(args) -> int:
    from trainer.train import fit
    from trainer.train_args import config_from_namespace

    fit(config_from_namespace(args))
    return 0
