# LDAP / Active Directory source (issue 3): filled in by its author.
