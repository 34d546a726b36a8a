"""Roads as a network, Qt-free so training and SageMaker can use it.

One module per stage, CRESI-shaped: ``skeleton`` (mask -> one-pixel centre lines and their
pixel links) -> ``trace`` (links -> networkx graph of junctions, ends and edge paths) ->
``simplify`` (prune spurs, merge close nodes) -> ``georef`` (lengths and widths in metres)
-> ``metrics`` (clDice; APLS in ``apls``) and ``stats`` (junctions, dangling ends, fragments).
``build.mask_to_graph`` runs the chain on one mask; ``vectorize`` runs it on rasters of any
size block by block (``blocks`` stitches the blocks) and writes GeoJSON (``geojson``).
"""
