"""SageMaker training instance types this app knows: GPUs per instance and an hourly list price.

Prices are approximate SageMaker *training* on-demand list prices in us-east-1 (USD per
instance-hour); other regions cost more or less. They only feed an *estimate* shown beside a
running job. Managed spot bills the job's reported BillableTimeInSeconds at these rates, which
is where spot saves money. An instance type missing here is refused before anything is created.
"""

from __future__ import annotations

from .base import CostEstimate

PRICE_NOTE = "approximate us-east-1 on-demand list price; an estimate, not a bill"

# type: (USD per hour, GPUs)
INSTANCE_TYPES: dict[str, tuple[float, int]] = {
    "ml.m5.xlarge": (0.23, 0),
    "ml.m5.2xlarge": (0.461, 0),
    "ml.m5.4xlarge": (0.922, 0),
    "ml.c5.2xlarge": (0.408, 0),
    "ml.c5.4xlarge": (0.816, 0),
    "ml.g4dn.xlarge": (0.736, 1),
    "ml.g4dn.2xlarge": (0.94, 1),
    "ml.g4dn.4xlarge": (1.505, 1),
    "ml.g4dn.12xlarge": (4.89, 4),
    "ml.g5.xlarge": (1.408, 1),
    "ml.g5.2xlarge": (1.515, 1),
    "ml.g5.4xlarge": (2.03, 1),
    "ml.g5.8xlarge": (3.06, 1),
    "ml.g5.12xlarge": (7.09, 4),
    "ml.g5.48xlarge": (20.36, 8),
    "ml.g6.xlarge": (1.0064, 1),
    "ml.g6.12xlarge": (5.3574, 4),
    "ml.p3.2xlarge": (3.825, 1),
    "ml.p3.8xlarge": (14.688, 4),
    "ml.p3.16xlarge": (28.152, 8),
    "ml.p4d.24xlarge": (37.688, 8),
}


def gpus_per_instance(instance_type: str) -> int:
    return INSTANCE_TYPES[instance_type][1]


def estimate_cost(instance_type: str, instance_count: int, seconds: float, spot: bool,
                  basis: str) -> CostEstimate | None:
    if instance_type not in INSTANCE_TYPES:
        return None
    hourly = INSTANCE_TYPES[instance_type][0]
    return CostEstimate(dollars=hourly * instance_count * seconds / 3600.0, hourly_price=hourly,
                        instance_type=instance_type, instance_count=instance_count, seconds=seconds,
                        spot=spot, basis=basis)
