"""A new model beside the current one on the workspace's test pairs: the rows the CLI and the Retrain panel show,
what the corrections bought, and whether activating the new model needs a second thought."""

from __future__ import annotations

from dataclasses import dataclass, field

from .models import ModelRecord

COMPARED = ("iou", "f1", "precision", "recall", "apls", "cldice")   # apls/cldice: do routes survive
# Fewer corrected tiles than this make "IoU gained per 10 tiles" noise: one tile moves a 2-tile test set a lot.
MIN_TILES_FOR_GAIN = 5


@dataclass
class Comparison:
    job_name: str
    new: ModelRecord
    new_metrics: dict
    current_version: str = ""
    current_metrics: dict | None = None
    notes: list[str] = field(default_factory=list)
    corrected_tiles: int | None = None  # accepted since the current model was made (None: not known)
    kept_start: bool = False            # the retrain beat nothing and returned the model it started from

    @property
    def iou_gain_per_10_tiles(self) -> float | None:
        """Test IoU gained (new - current) per 10 tiles corrected since the current model: what a round of
        correcting bought. None unless it means something: a current model to compare, at least
        MIN_TILES_FOR_GAIN corrected tiles, and a gain (a loss is the retrain's doing, not the tiles')."""
        if not self.current_metrics or (self.corrected_tiles or 0) < MIN_TILES_FOR_GAIN:
            return None
        new, current = self.new_metrics.get("iou"), self.current_metrics.get("iou")
        if new is None or current is None or new <= current:
            return None
        return (new - current) * 10.0 / self.corrected_tiles

    def payoff_rows(self) -> list[tuple[str, str]]:
        """(label, value) lines under the metric table, shared by the CLI and the Retrain panel."""
        corrected = "-" if self.corrected_tiles is None else str(self.corrected_tiles)
        return [("tiles corrected since the current model", corrected),
                ("IoU gained per 10 corrected tiles", self._gain_text())]

    def _gain_text(self) -> str:
        gain = self.iou_gain_per_10_tiles
        if gain is not None:
            return f"{gain:+.4f}"
        if self.current_metrics and self.corrected_tiles is not None and self.corrected_tiles < MIN_TILES_FOR_GAIN:
            return f"- (shown from {MIN_TILES_FOR_GAIN} corrected tiles)"
        if self.current_metrics and self.corrected_tiles:
            return "- (no IoU gained)"
        return "-"

    def rows(self) -> list[tuple[str, float | None, float | None]]:
        current = self.current_metrics or {}
        return [(key, self.new_metrics.get(key), current.get(key)) for key in COMPARED]

    @property
    def better(self) -> bool | None:
        if not self.current_metrics:
            return None
        return self.new_metrics.get("iou", 0.0) >= self.current_metrics.get("iou", 0.0)

    @property
    def worse_everywhere(self) -> bool:
        """Worse than the current model on road IoU and better on no metric (a tie, e.g. both APLS 0, is not
        better): activating it needs a confirmation."""
        pairs = {key: (new, cur) for key, new, cur in self.rows() if new is not None and cur is not None}
        if "iou" not in pairs or not pairs["iou"][0] < pairs["iou"][1]:
            return False
        return all(new <= cur for new, cur in pairs.values())

    def worse_sentence(self) -> str:
        """One sentence for the confirmation: by how much the new model is worse."""
        parts = [f"{key} {cur:.3f} -> {new:.3f}" for key, new, cur in self.rows()
                 if new is not None and cur is not None]
        return (f"The new model {self.new.version} is worse than the current model "
                f"{self.current_version or '(none)'} on every metric ({', '.join(parts)}, current -> new).")

    def describe(self) -> str:
        tiles = self.new_metrics.get("tiles", "?")
        head = f"{'metric':<10} {'new ' + self.new.version:>20} {'current ' + (self.current_version or '-'):>20}"
        lines = [f"evaluated on this workspace's {tiles} test pairs", head]
        for key, new, cur in self.rows():
            new_text = "-" if new is None else f"{new:.4f}"
            cur_text = "-" if cur is None else f"{cur:.4f}"
            delta = f"  ({new - cur:+.4f})" if new is not None and cur is not None else ""
            lines.append(f"{key:<10} {new_text:>20} {cur_text:>20}{delta}")
        lines += [f"{label}: {value}" for label, value in self.payoff_rows()]
        return "\n".join(lines + self.notes)
