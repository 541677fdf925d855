exampledir = $(docdir)/example
dist_example_DATA = contrib/example/staff.csv
EXTRA_DIST += contrib/example/make-staff-csv.py contrib/install-deps.sh contrib/quickstart
