import os

import matplotlib

# Headless tests: never open a window, whatever the user's matplotlibrc says.
matplotlib.use("Agg", force=True)
os.environ.setdefault("LECTURE_DEVICE", "cpu")
