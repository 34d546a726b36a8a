"""``roadseg eval --model M --data DIR`` (or ``--predictions PRED_DIR`` instead of a model):
one JSON line of honest metrics on stdout, nothing else."""

from __future__ import annotations

import json
import sys


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "eval", help="evaluate a model on a labelled test split (one JSON line)",
        description="Evaluate MODEL (folder, model.tar.gz, .pth or the seed checkpoint) on DIR/test, or on DIR "
                    "when it directly holds images/ and masks/. Prints one JSON line with road iou, f1, "
                    "precision, recall, and accuracy beside background_accuracy (what an all-background "
                    "prediction scores), and the roads' connectivity: apls (SpaceNet's path-length similarity) of "
                    "the network a user gets (gaps bridged, spurs pruned, as predict --vector delivers it), "
                    "apls_raw of the prediction's raw skeleton, and cldice. With --predictions instead of --model, "
                    "scores existing masks (another tool's, an older model's, a second annotator's) paired "
                    "with DIR's masks by file stem. Pairs that cannot be used are reported on stderr and skipped; "
                    "the exit status is then 1.")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--model", help="model folder, model.tar.gz or .pth")
    source.add_argument("--predictions", metavar="PRED_DIR",
                        help="folder of predicted masks named like the truth (STEM.png or STEM_mask.tif); no model")
    parser.add_argument("--data", required=True,
                        help="folder holding test/images + test/masks (or images + masks); with --predictions "
                             "also a plain folder of truth masks")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps (default auto)")
    parser.add_argument("--engine", default="torch", choices=("torch", "onnx", "auto"),
                        help="inference engine (default torch)")
    parser.add_argument("--tile", type=int, default=512, help="window size for large images (default 512)")
    parser.add_argument("--tta", action="store_true",
                        help="with --model: average each window's road probability over its left-right and up-down "
                             "flips before the threshold (test-time flips: 4x the prediction time)")
    parser.add_argument("--threshold", type=float, default=None,
                        help="with --predictions: road cut for probability masks, as a fraction of their range "
                             "(default 0.5: 0.5 for floats 0..1, 128 for 8 bits); 0/1 and 0/255 masks need none")
    parser.add_argument("--no-bridge", dest="bridge", action="store_false",
                        help="with --predictions: score the masks' own networks, unbridged (a second annotator's "
                             "labels); apls is then apls_raw")
    parser.set_defaults(func=run)


def run(args) -> int:
    from trainer.evaluate import evaluate, evaluate_predictions
    from trainer.metrics import rounded

    skipped: list = []
    if args.predictions:
        metrics = evaluate_predictions(args.predictions, args.data, skipped=skipped, threshold=args.threshold,
                                       bridge=args.bridge)
    else:
        metrics = evaluate(args.model, args.data, device=args.device, engine=args.engine, tile=args.tile,
                           skipped=skipped, connectivity=True, tta=args.tta)
    print(json.dumps(rounded(metrics, 6)), flush=True)
    if skipped:  # each was reported by name with its reason as it was found
        print(f"error: {len(skipped)} pair(s) could not be used and were left out of the metrics",
              file=sys.stderr)
        return 1
    return 0
