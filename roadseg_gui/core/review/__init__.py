"""Review at road speed (issue 20), Qt-free: the prediction's roads as candidates to accept or reject.

One module per stage: ``network`` (the heavy part, once per tile and threshold: the predicted road
graph with gaps bridged) -> ``candidates`` (that network minus what the mask labels, minus what was
rejected, kept up to date around each edit) -> ``accept`` (paint one candidate into the mask, joined
into the labeled network) with ``checks`` (geometry problems found on accept); ``rejections`` keeps
rejected roads with the tile's state in the state DB.
"""
