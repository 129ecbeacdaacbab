"""The lsv command line: launch the graph from the YAML launch files, check the environment, run the simulator."""
