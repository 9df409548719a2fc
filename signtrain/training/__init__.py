"""prepare -> build -> fit -> test -> save -> commit, and what a run needs around it."""
