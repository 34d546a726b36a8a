"""Which nodes of the fp32 export stay in float when it is quantized to int8.

Profiled with ONNX Runtime 1.32 on the 2-core reference CPU (AVX-512 VNNI), DeepLabV3-MobileNetV3,
512^2, one thread (bench/RESULTS.md section 7). Quantizing everything leaves two costly spots:

- the input: uint8 NHWC -> Transpose -> Cast -> Mul/Sub normalisation -> the 3-channel stem Conv.
  With the stem quantized, ONNX Runtime's NHWC int8 layout pushes the Transpose past the normalisation,
  whose Mul/Sub then broadcast over a last axis of 3 (about 10-15% of the int8 time, 1% in fp32).
  Kept in float up to and including the stem Conv, fp32 does it in its fast layout and gives one
  QuantizeLinear after the stem; the result stays exact (nothing folded).
- the head after the last Conv: the bilinear Resize to full size and the Sigmoid. uint8 Resize at
  512^2 is slower than the float one, and float keeps the probabilities smooth.

Everything between (the convolutions, Hardswish as HardSigmoid x Mul, squeeze-excite, ASPP) is
quantized: keeping any of it in float costs a DequantizeLinear/QuantizeLinear pair at full activation
size, which measured slower than the int8 op.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # onnx is needed only where a model is quantized
    import onnx

DENSE = "Conv"


def kept_in_float(model: "onnx.ModelProto") -> list[str]:
    """Names of the nodes from the graph input up to and including the first Conv, and of those
    after the last Conv up to the graph output (the shape arithmetic they use included)."""
    graph = model.graph
    consumers, producer = defaultdict(list), {}
    for node in graph.node:
        for name in node.input:
            consumers[name].append(node)
        for name in node.output:
            producer[name] = node
    kept: dict[str, None] = {}  # ordered set

    frontier = [value.name for value in graph.input]
    while frontier:  # forwards from the input, through the stem Conv and no further
        for node in consumers[frontier.pop()]:
            if node.name not in kept:
                kept[node.name] = None
                if node.op_type != DENSE:
                    frontier.extend(node.output)

    frontier = [value.name for value in graph.output]
    while frontier:  # backwards from the output, stopping at the last Conv(s)
        node = producer.get(frontier.pop())
        if node is None or node.op_type == DENSE or node.name in kept:
            continue
        kept[node.name] = None
        if node.op_type != "Shape":  # a Shape reads only its input's shape, not the network before it
            frontier.extend(node.input)
    return [name for name in kept if name]  # unnamed nodes cannot be excluded by name
