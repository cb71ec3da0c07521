"""``python -m ione`` is the ``ione`` command."""

from ione.cli import main

raise SystemExit(main())
