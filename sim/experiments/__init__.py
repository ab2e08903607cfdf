"""Many runs and what is learned from them: run folders, experiment files, sweeps on a local
pool or a Dask cluster, paired comparison, sensitivity and calibration."""
