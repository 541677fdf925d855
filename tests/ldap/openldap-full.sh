#!/bin/sh
# The ldap source against a private slapd, end to end through staffsyncd:
# paged full listing (page size 2), entryUUID identity, attribute mapping
# with names in several scripts, nested groups with a cycle, groups named by
# cn or DN, disabled accounts (pwdAccountLockedTime and disabled_when), a
# rename and a move that stay the same person, StartTLS with certificate
# verification and ldaps://, and syncrepl incremental runs (add, modify,
# delete, a move out of base_dn) against --full runs.

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/ldap/lib.sh"

ldap_setup unlimited
T=$TMPDIR_TEST
P=ou=people,$SUFFIX
G=ou=groups,$SUFFIX
{
	base_ldif
	person alice Alice Archer
	person bob Bob Baker
	person zoe 'Дарья' '李' "" 'title: Cardiology'
	person dave Dave Dormant
	person erin Erin Exit "" 'employeeType: inactive'
	person frank Frank Loop
	person grace Grace Admin
} >"$T/people.ldif"
{
	group surgeons "cn=cardiac,$G"
	group cardiac "uid=alice,$P"
	group nurses "uid=bob,$P" "uid=zoe,$P"
	group cycle-a "uid=frank,$P" "cn=cycle-b,$G"
	group cycle-b "cn=cycle-a,$G"
	group admins "uid=grace,$P"
	group physicians "uid=zoe,$P"
} >"$T/groups.ldif"
start_slapd "$T/slapd"
ldap_as_root ldapadd -f "$T/people.ldif" || hard_error "cannot load people"
ldap_as_root ldapadd -f "$T/groups.ldif" || hard_error "cannot load groups"
# Locked by the password policy: a leaver for the engine.
printf 'dn: uid=dave,%s\nchangetype: modify\nadd: pwdAccountLockedTime\npwdAccountLockedTime: 000001010000Z\n' "$P" |
	ldap_as_root ldapmodify || hard_error "cannot lock dave"

W=$T/work
mkdir -p "$W"
write_config() {
	{
		echo "state_dir: state"
		echo "sources:"
		ldap_source_yaml
		echo "    disabled_when: { attribute: employeeType, values: [inactive, left] }"
		cat <<'YAML'
target:
  type: sqlite
facilities:
  - id: north
    name: North
    platform: any
    match: { facility: [North] }
roles:
  - { role: Surgeon, groups: [surgeons] }
  - { role: Doctor, groups: [physicians], requires: [speciality] }
  - { role: Nurse, groups: [nurses] }
  - { role: Tech, groups: [cycle-b] }
  - { role: Admin, groups: ["cn=admins,ou=groups,dc=example,dc=com"] }
  - { role: Admin }
leavers:
  grace_runs: 1
  max_deactivations: 10
YAML
	} >"$W/config.yaml"
}
PAGE_SIZE=2 write_config

"$STAFFSYNCD" -c "$W/config.yaml" --check-config >"$W/check.out" 2>&1
check "check-config accepts the ldap source" "0" "$?"

run_once "$W"
check "first run exits 0" "0" "$RUN_EXIT"
check "first run: roles from nested groups, cycle ends, disabled never created" \
"Alice|Archer|Surgeon|pending
Bob|Baker|Nurse|pending
Frank|Loop|Tech|pending
Grace|Admin|Admin|pending
Дарья|李|Doctor|pending" \
"$(sql "$W/state/workspaces.db" "SELECT given_name, family_name, role, status FROM workspace_users ORDER BY given_name;")"
uuid=$(ldapsearch -x -LLL -H "ldap://127.0.0.1:$SLAPD_PORT/" -D "$ROOTDN" -w "$ROOTPW" -b "uid=alice,$P" -s base entryUUID | sed -n 's/^entryUUID: //p')
check "identity is the entryUUID" "$uuid" \
	"$(sql "$W/state/workspaces.db" "SELECT external_id FROM workspace_users WHERE given_name='Alice';")"
check "speciality from title (UTF-8 person)" "Cardiology" \
	"$(sql "$W/state/workspaces.db" "SELECT speciality FROM workspace_users WHERE family_name='李';")"

# A rename, a move to another OU and a changed surname: the same people.
ldap_as_root ldapmodrdn -r "uid=alice,$P" "uid=alice.archer" || hard_error "modrdn"
ldap_as_root ldapmodrdn -r -s "ou=moved,$P" "uid=bob,$P" "uid=bob" || hard_error "move"
printf 'dn: uid=alice.archer,%s\nchangetype: modify\nreplace: sn\nsn: Archer-Smith\n' "$P" | ldap_as_root ldapmodify ||
	hard_error "modify"
run_once "$W"
check "incremental run after rename and move exits 0" "0" "$RUN_EXIT"
check_grep "the run was incremental" "listing incremental" "$W/err"
check_grep "rename + move = one update, nothing created" "created=0 invited=0 resent=0 updated=1 moved=0 deactivated=0" "$W/out"
check "the renamed person kept their id" "$uuid|Archer-Smith" \
	"$(sql "$W/state/workspaces.db" "SELECT external_id, family_name FROM workspace_users WHERE given_name='Alice';")"

# syncrepl: an add, a modify (lock = leaver), a delete.
person henry Henry Hale | ldap_as_root ldapadd || hard_error "add henry"
printf 'dn: cn=nurses,%s\nchangetype: modify\nadd: member\nmember: uid=henry,%s\n' "$G" "$P" | ldap_as_root ldapmodify ||
	hard_error "add henry to nurses"
printf 'dn: uid=frank,%s\nchangetype: modify\nreplace: employeeType\nemployeeType: left\n' "$P" | ldap_as_root ldapmodify ||
	hard_error "disable frank"
ldap_as_root ldapdelete "uid=grace,$P" || hard_error "delete grace"
run_once "$W"
check "incremental run with add, disable, delete exits 0" "0" "$RUN_EXIT"
check_grep "the second incremental run was incremental" "listing incremental" "$W/err"
check "add created, disabled and deleted deactivated (deletion authoritative)" \
"Alice|Surgeon|pending
Bob|Nurse|pending
Frank|Tech|deactivated
Grace|Admin|deactivated
Henry|Nurse|pending
Дарья|Doctor|pending" \
"$(sql "$W/state/workspaces.db" "SELECT given_name, role, status FROM workspace_users ORDER BY given_name;")"

# A user moved out of base_dn: the refresh with the cookie must report them
# as gone (syncprov sends an entry that left the scope as a delete), so an
# incremental run makes them a leaver, like a deletion. ivan is in no group
# (the last, group-less role rule places him), so no group changes with him.
person ivan Ivan Away | ldap_as_root ldapadd || hard_error "add ivan"
run_once "$W"
check "ivan, in no group, is added by an incremental run" "0|Admin|pending" \
	"$RUN_EXIT|$(sql "$W/state/workspaces.db" "SELECT role, status FROM workspace_users WHERE given_name='Ivan';")"
ldap_as_root ldapmodrdn -r -s "$SUFFIX" "uid=ivan,$P" "uid=ivan" || hard_error "move ivan out of base_dn"
run_once "$W"
check_grep "the run after ivan left base_dn was incremental" "listing incremental" "$W/err"
check "a user moved out of base_dn is a leaver" "0|deactivated" \
	"$RUN_EXIT|$(sql "$W/state/workspaces.db" "SELECT status FROM workspace_users WHERE given_name='Ivan';")"
check_grep "and the only change" "created=0 invited=0 resent=0 updated=0 moved=0 deactivated=1 " "$W/out"

run_once "$W"
check "an incremental run with no change changes nothing" "0" "$RUN_EXIT"
check_grep "no change: an empty plan" "created=0 invited=0 resent=0 updated=0 moved=0 deactivated=0 reactivated=0" "$W/out"
run_once "$W" --full
check "a --full run agrees with the incremental runs" "0" "$RUN_EXIT"
check_grep "the --full run was a full listing" "listing full" "$W/err"
check_grep "--full: nothing to change" "created=0 invited=0 resent=0 updated=0 moved=0 deactivated=0 reactivated=0" "$W/out"

# Group changes in an increment. Nesting nurses into surgeons changes no
# user entry, yet Bob's and Дарья's groups: the increment reads the users
# below the changed groups again. Taking it out again puts them back.
roles() { sql "$W/state/workspaces.db" "SELECT given_name, role FROM workspace_users WHERE given_name IN ('Bob', 'Дарья') ORDER BY given_name;"; }
printf 'dn: cn=surgeons,%s\nchangetype: modify\nadd: member\nmember: cn=nurses,%s\n' "$G" "$G" | ldap_as_root ldapmodify ||
	hard_error "nest nurses into surgeons"
run_once "$W"
check_grep "a nesting change is followed incrementally" "listing incremental" "$W/err"
check "the users below a newly nested group get its role" "0|Bob|Surgeon
Дарья|Surgeon" "$RUN_EXIT|$(roles)"
printf 'dn: cn=surgeons,%s\nchangetype: modify\ndelete: member\nmember: cn=nurses,%s\n' "$G" "$G" | ldap_as_root ldapmodify ||
	hard_error "take nurses out of surgeons"
run_once "$W"
check "taken out of the nesting, incrementally" "0|Bob|Nurse
Дарья|Doctor|listing incremental" "$RUN_EXIT|$(roles)|$(grep -o 'listing incremental' "$W/err")"
# A deleted group with a group nested in it: cardiac's users (Alice) lose
# the role it gave, though the server lists the deletion only by entryUUID.
ldap_as_root ldapdelete "cn=surgeons,$G" || hard_error "delete surgeons"
run_once "$W"
check "a deleted parent group, incrementally" "0|Admin|listing incremental" \
	"$RUN_EXIT|$(sql "$W/state/workspaces.db" "SELECT role FROM workspace_users WHERE given_name='Alice';")|$(grep -o 'listing incremental' "$W/err")"
run_once "$W" --full
check_grep "and a --full run agrees" "created=0 invited=0 resent=0 updated=0 moved=0 deactivated=0 reactivated=0" "$W/out"
# Without memberOf on users (memberships only in the groups' member
# values), a group change cannot be followed: the run lists everything.
sed -i 's/facility: l }/facility: l, groups: departmentNumber }/' "$W/config.yaml"
run_once "$W" --full
printf 'dn: cn=admins,%s\nchangetype: modify\nadd: member\nmember: uid=bob,%s\n' "$G" "$P" | ldap_as_root ldapmodify ||
	hard_error "add bob to admins"
run_once "$W"
check_grep "member values only: a group change means a full listing" "listing full" "$W/err"
check_grep "and the log says why" "users carry no memberOf" "$W/err"
sed -i 's/, groups: departmentNumber }/ }/' "$W/config.yaml"

# TLS: ldaps:// with the right CA works; the wrong CA fails the run (nothing deactivated).
sed -i "s#uri: ldap://127.0.0.1:$SLAPD_PORT#uri: ldaps://127.0.0.1:$SLAPD_TLS_PORT#" "$W/config.yaml"
run_once "$W" --full
check "ldaps:// with the right CA" "0" "$RUN_EXIT"
sed -i "s#uri: ldaps://127.0.0.1:$SLAPD_TLS_PORT#uri: ldap://127.0.0.1:$SLAPD_PORT#; s#good-ca.pem#wrong-ca.pem#" "$W/config.yaml"
before=$(users "$W")
run_once "$W" --full
check "StartTLS with the wrong CA fails the run" "1" "$RUN_EXIT"
check_grep "the reason names TLS" "StartTLS failed\|certificate\|TLS" "$W/err"
check "a failed source writes nothing" "$before" "$(users "$W")"
sed -i "s#wrong-ca.pem#good-ca.pem#; s#uri: ldap://127.0.0.1:$SLAPD_PORT#uri: ldaps://127.0.0.1:$SLAPD_TLS_PORT#" "$W/config.yaml"
sed -i "s#good-ca.pem#wrong-ca.pem#" "$W/config.yaml"
run_once "$W" --full
check "ldaps:// with the wrong CA fails the run" "1" "$RUN_EXIT"

finish
