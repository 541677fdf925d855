exampledir = $(docdir)/example
dist_example_DATA = contrib/example/staff.csv
