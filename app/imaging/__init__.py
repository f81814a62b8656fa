"""The display pipeline, pure numpy (DESIGN.md section 4).

- ``pixel_attributes``: reference defaults for missing Image Pixel attributes (with a warning).
- ``frames``: decoding of every accepted transfer syntax; colour frames to RGB; ``decoders``: the
  fastest installed decoder plugin per transfer syntax (measured), with fallback.
- ``mask_subtraction``: AVG_SUB / TID / REV_TID mask subtraction of multi-frame images.
- ``modality_lut``, ``voi_lut``, ``presentation_lut``, ``presets``: the grey stages, composed by
  ``pipeline.GreyPipeline`` into one cached uint8 table (direct evaluation above 16 bits).
- ``overlays``, ``shutters``, ``annotations``: layers (bool masks + values), never baked in;
  ``view_geometry``, ``text_layer``, ``burn_in``: graphic layers and text drawn in the displayed frame.
- ``spatial``: rotation, flip and displayed area.
- ``presentation_state``: what a GSPS says about one frame; ``render``: one frame with its
  layers and geometry (``lightbox render``, ``render_cli``); ``state_choice``: the states that
  apply to an image frame, newest first.
- ``functional_groups``: per-frame values of enhanced multi-frame images.
- ``stacks``: frames of a series in viewing order by a ``SortKey``; ``orientation``: edge labels;
  ``calibration``: pixel size and its source; ``measurements``: distance, angle, area, ROI statistics;
  ``corner_text`` (+ ``corner_text_defaults``): the lines of each corner from per-modality templates.
"""
