"""Entry script of the frozen build: the same as the ``lightbox`` command (``app.cli.main``).

The frozen executable serves every subcommand, including ``lightbox server``: the
workstation starts its bundled server as ``<executable> server ...`` when frozen
(``app.services.embedded_server.EmbeddedServer.command``).
"""

import multiprocessing
import sys

from app.cli import main

if __name__ == "__main__":
    multiprocessing.freeze_support()
    sys.exit(main())
