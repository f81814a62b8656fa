"""Thin pynetdicom adapters, one per DIMSE service; none of them ever raises.

Each handler turns a pynetdicom event into a call on the server's services and maps
every failure to an explicit DICOM status (PS3.7 C: A700 out of resources, C000 cannot
understand, ...) with an Error Comment.
"""
