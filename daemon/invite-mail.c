/* SPDX-License-Identifier: MIT */
/* Invite e-mail over SMTP (issue 4): filled in by its author. */
#include "invite-mail.h"
