"""Lightbox's own UIDs and implementation identity.

Lightbox has no registered organisational root, so it uses the UUID-derived root ``2.25``
(PS3.5 B.2): every UID it makes is ``2.25.`` followed by the decimal value of a UUID.
"""

from __future__ import annotations

import uuid

from pydicom.uid import UID

from app import __version__

UID_ROOT = "2.25."

#: Implementation Class UID sent in every association (PS3.7 D.3.3.2); fixed for the product.
IMPLEMENTATION_CLASS_UID = UID("2.25." + str(uuid.uuid5(uuid.NAMESPACE_URL, "urn:lightbox:implementation").int))

#: Implementation Version Name (at most 16 characters, PS3.7 D.3.3.2).
IMPLEMENTATION_VERSION_NAME = f"LIGHTBOX_{__version__.replace('.', '')}"[:16]


def generate_uid() -> UID:
    """A new, globally unique UID under Lightbox's root."""
    return UID(UID_ROOT + str(uuid.uuid4().int))
