"""Roads as a network, Qt-free so training and SageMaker can use it.

One module per stage, CRESI-shaped: ``skeleton`` (mask -> one-pixel centre lines and their
pixel links) -> ``trace`` (links -> networkx graph of junctions, ends and edge paths) ->
``simplify`` (prune spurs, merge close nodes) -> ``georef`` (lengths and widths in metres)
-> ``metrics`` (clDice; APLS in ``apls``) and ``stats`` (junctions, dangling ends, fragments).
A *prediction's* network gets one more stage, ``connect`` (bridge gaps along the least-cost path over
-log(probability), ``bridge`` + ``leastcost``; prune spurs; drop short fragments; re-join edges):
``mask_to_graph(bridge=True)``, ``vectorize_raster(bridge=True)``; a label is the truth and keeps its network.
``build.mask_to_graph`` runs the chain on one mask; ``vectorize`` runs it on rasters of any
size block by block (``blocks`` stitches the blocks) and writes GeoJSON (``geojson``).
"""
