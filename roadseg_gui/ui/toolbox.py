"""Every canvas tool, in toolbar order: the pixel tools and the road tools."""

from __future__ import annotations

from .review.tool import ReviewTool
from .review_notes.tool import NoteTool
from .road_tools import ConnectTool, SnapRoadLineTool, TakeRoadTool
from .tools import BrushTool, EraserTool, FillTool, PolygonTool

TOOL_CLASSES = (BrushTool, EraserTool, SnapRoadLineTool, PolygonTool, FillTool, TakeRoadTool, ConnectTool,
                ReviewTool, NoteTool)
