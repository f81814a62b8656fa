"""Desktop use-cases, Qt-free and cancellable: the only API the UI calls."""
