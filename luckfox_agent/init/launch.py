"""Start the agent the way the init scripts do: `python3 .../init/launch.py ARGS`.

`python3 -m luckfox_agent` keeps the runpy and importlib.util machinery `-m` needs resident
for the whole life of the process (measured: 0.8 MB on Python 3.9, 0.1 MB on 3.13); importing
`main` from a plain script does not.
PYTHONPATH must name the folder that holds `luckfox_agent` (the init scripts set it).
"""

import sys

from luckfox_agent.__main__ import main

sys.exit(main())
