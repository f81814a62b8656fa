"""HTTP client of the server's API: DICOMweb (QIDO-RS, WADO-RS, STOW-RS) and admin."""
