"""Annotator throughput: what each tile costs each annotator (Qt-free).

``activity`` turns input events into active seconds (idle gaps over 30 s cut) and actions by tool;
``store`` keeps them in the workspace state DB; ``road_length`` measures an accepted mask's road
network in metres; ``report`` sums the records into tiles per hour, km per hour and actions per km.
"""
