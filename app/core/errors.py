"""The one error hierarchy of Lightbox.

Every message says what was wrong and what the user or administrator can do about it.
"""


class AppError(Exception):
    """Base of all errors Lightbox raises on purpose."""


class ConfigError(AppError):
    """A configuration file or flag is invalid."""


class StorageError(AppError):
    """The storage area could not write, read or remove a file."""


class IndexFailure(AppError):
    """The index (database) failed; the operation was rolled back."""


class NotFoundError(AppError):
    """The requested object does not exist."""


class ServerUnavailableError(AppError):
    """The image server could not be reached or did not start."""


class DicomInputError(AppError):
    """Received or read DICOM data is malformed or lacks a required attribute."""


class ConflictError(AppError):
    """The request conflicts with the current state (an approved study, an existing patient ID, ...)."""


class InvalidRequestError(AppError):
    """A request names unknown fields or gives values that are not valid (HTTP 422)."""
