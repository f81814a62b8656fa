"""The display pipeline, pure numpy (DESIGN.md section 4)."""
