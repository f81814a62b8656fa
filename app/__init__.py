"""Lightbox: a radiology workstation and its bundled image server."""

__version__ = "0.1.0"
