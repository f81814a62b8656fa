"""The user's annotations as presentation state objects, and back (PS3.3 C.10.5, C.10.7).

Each kind of :class:`~app.services.annotations_model.UserAnnotation` is written in a graphic
layer of its own (:data:`~app.services.annotations_model.LAYERS`), one Graphic Annotation item
per annotation: its graphic objects in PIXEL units (:func:`graphic_objects`), then its label
(the measured values, or the note of a text annotation) as a text object (:func:`text_objects`).
That is what any GSPS viewer shows, and what :func:`annotations_from_state` reads back to make
them editable again.
"""

from __future__ import annotations

from pydicom.dataset import Dataset

from app.imaging.annotations import GraphicObject, TextObject
from app.imaging.presentation_state import references_frame
from app.services.annotations_model import (
    LAYERS,
    POINTS,
    Kind,
    Measurement,
    Point,
    UserAnnotation,
    ellipse_box,
    label_anchor,
)

_KIND_OF_LAYER = {name: kind for kind, (name, _) in LAYERS.items()}


def graphic_objects(annotation: UserAnnotation) -> tuple[GraphicObject, ...]:
    """Its graphic objects in PIXEL units (PS3.3 C.10.5.1.2).

    A rectangle is a closed POLYLINE, an ellipse an ELLIPSE (major axis end points first),
    a Cobb angle two POLYLINEs, an arrow its shaft then its head as POLYLINEs.
    """
    p = annotation.points
    kind = annotation.kind
    if kind == Kind.TEXT:
        return ()
    if kind == Kind.ELLIPSE:
        (cx, cy), (rx, ry) = ellipse_box(p[0], p[1])
        horizontal = ((cx - rx, cy), (cx + rx, cy))
        vertical = ((cx, cy - ry), (cx, cy + ry))
        major, minor = (horizontal, vertical) if rx >= ry else (vertical, horizontal)
        return (GraphicObject("ELLIPSE", (*major, *minor)),)
    return tuple(GraphicObject("POLYLINE", tuple(line)) for line in annotation.outline())


def text_objects(annotation: UserAnnotation, measurement: Measurement) -> tuple[TextObject, ...]:
    """Its label (the note of a TEXT annotation) as a text object at :func:`label_anchor` (PS3.3 C.10.5.1.1)."""
    if not measurement.lines:
        return ()
    visible = annotation.kind == Kind.TEXT
    return (TextObject(measurement.label, anchor=label_anchor(annotation), anchor_visible=visible),)


def _kind_and_points(layer: str, item: Dataset) -> tuple[Kind, tuple[Point, ...], str] | None:
    """Read one of our Graphic Annotation items back: its kind, points and note; None if not ours."""
    kind = _KIND_OF_LAYER.get(layer)
    if kind is None:
        return None
    graphics = []
    for g in item.get("GraphicObjectSequence") or []:
        if str(g.get("GraphicAnnotationUnits", "PIXEL")).strip().upper() != "PIXEL":
            return None
        data = [float(v) for v in g.get("GraphicData") or []]
        graphics.append((str(g.get("GraphicType", "")).strip().upper(), list(zip(data[::2], data[1::2], strict=False))))
    texts = list(item.get("TextObjectSequence") or [])
    if kind == Kind.TEXT:
        if len(texts) != 1 or not texts[0].get("AnchorPoint"):
            return None
        anchor = [float(v) for v in texts[0].AnchorPoint]
        return kind, ((anchor[0], anchor[1]),), str(texts[0].get("UnformattedTextValue", ""))
    if not graphics:
        return None
    gtype, pts = graphics[0]
    if kind == Kind.ELLIPSE and gtype == "ELLIPSE" and len(pts) == 4:
        xs, ys = [x for x, _ in pts], [y for _, y in pts]
        return kind, ((min(xs), min(ys)), (max(xs), max(ys))), ""
    if kind == Kind.RECTANGLE and len(pts) == 5:
        return kind, (pts[0], pts[2]), ""
    if kind == Kind.COBB and len(graphics) >= 2 and len(pts) == 2 and len(graphics[1][1]) == 2:
        return kind, (*pts, *graphics[1][1]), ""
    wanted = POINTS[kind]
    if gtype == "POLYLINE" and ((wanted is None and len(pts) >= 2) or wanted == len(pts)):
        return kind, tuple(pts), ""
    return None


def annotations_from_state(state: Dataset, image: Dataset, frame: int = 0) -> list[UserAnnotation]:
    """Our annotations in ``state`` that apply to frame ``frame`` (0-based) of ``image``, editable again.

    Only items in our layers (:data:`LAYERS`) whose objects are as :func:`graphic_objects` writes
    them are read; anything else stays a graphic of the presentation state.
    """
    uid = str(image.get("SOPInstanceUID", ""))
    out = []
    for item in state.get("GraphicAnnotationSequence") or []:
        if not references_frame(item, uid, frame + 1):
            continue
        found = _kind_and_points(str(item.get("GraphicLayer", "")).strip(), item)
        if found is not None:
            kind, points, text = found
            out.append(UserAnnotation(kind, points, uid, frame, text))
    return out


def is_own_item(item: Dataset) -> bool:
    """True when a Graphic Annotation item is one :func:`annotations_from_state` makes editable."""
    return _kind_and_points(str(item.get("GraphicLayer", "")).strip(), item) is not None
