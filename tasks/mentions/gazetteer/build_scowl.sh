#!/bin/sh
# Regenerates scowl_words.txt.gz, the plain English words the entity rules read: the
# lower-case entries of SCOWL size 50 (Kevin Atkinson and others; permissive licences, kept
# in full as the file's header), as Debian's wamerican package ships it (2020.12.07-2):
#
#   apt-get install wamerican && sh tasks/gazetteer/build_scowl.sh
#
# A capitalised word that SCOWL lists in lower case is a plain word ("Stardust", "Polaroid"
# are listed capitalised); a name made only of words SCOWL does not list is a person's.
set -eu
here=$(dirname "$0")
{
    echo "# SCOWL size 50 from Debian wamerican $(dpkg-query -W -f '${Version}' wamerican)"
    sed 's/^/# /' /usr/share/doc/wamerican/copyright  # every notice SCOWL asks to keep
    grep '^[a-z]' /usr/share/dict/american-english | grep -v "'s$"
} | gzip -9n > "$here/scowl_words.txt.gz"
