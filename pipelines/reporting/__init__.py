"""Reports: batch files and the runner that executes notebooks with papermill in warm kernels
and publishes each run atomically, the notebook helpers, the chart theme and the index page."""
