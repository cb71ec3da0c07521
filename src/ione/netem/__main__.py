"""``python -m ione.netem``: run one emulated link (see :mod:`ione.netem.process`)."""

from ione.netem.process import main

raise SystemExit(main())
