#!/bin/sh
# Print hostnet's version from git, in a form that is a valid Debian and RPM
# version alike (no "-"; starts with a digit) and sorts the way releases do:
#
#   HEAD at tag v1.2.3            1.2.3
#   3 commits after v1.2.3        1.2.3+git3.abc1234
#   tag v1.2.3-rc1                1.2.3~rc1        (before 1.2.3)
#   no tag yet, 21 commits        0.0.0+git21.abc1234
#   uncommitted changes           +dirty, or .dirty after a +git part
#
# Usage: pkg-version.sh [DESCRIBE [COMMITS]]
# Without arguments it asks git. DESCRIBE is what
# `git describe --tags --long --dirty --always --match 'v[0-9]*'` prints and
# COMMITS the commit count used when there is no tag (for tests).
set -eu

if [ $# -ge 1 ]; then
	desc=$1
	commits=${2:-0}
else
	desc=$(git describe --tags --long --dirty --always --match 'v[0-9]*' 2>/dev/null) || {
		echo "pkg-version: not a git checkout with commits; set VERSION=..." >&2
		exit 1
	}
	commits=$(git rev-list --count HEAD)
fi

dirty=""
case $desc in
*-dirty)
	dirty=1
	desc=${desc%-dirty}
	;;
esac

# TAG-N-gSHA (a tag exists), else SHA alone.
if tail=$(printf '%s\n' "$desc" | sed -n 's/^.*-\([0-9][0-9]*\)-g\([0-9a-f][0-9a-f]*\)$/\1 \2/p') && [ -n "$tail" ]; then
	n=${tail% *}
	sha=${tail#* }
	tag=$(printf '%s\n' "$desc" | sed 's/-[0-9][0-9]*-g[0-9a-f][0-9a-f]*$//; s/^v//')
	# Pre-release marks (1.2.3-rc1) sort before the release with "~"; any
	# other character neither format allows becomes "~" too.
	tag=$(printf '%s\n' "$tag" | sed 's/[^A-Za-z0-9.+~]/~/g')
else
	case $desc in
	*[!0-9a-f]* | "")
		echo "pkg-version: cannot read git describe output \"$desc\"" >&2
		exit 1
		;;
	esac
	n=$commits
	sha=$desc
	tag=0.0.0
fi

case $tag in
[0-9]*) ;;
*)
	echo "pkg-version: tag \"$tag\" does not start with a digit (tag releases as v1.2.3)" >&2
	exit 1
	;;
esac

version=$tag
if [ "$n" != 0 ] || [ "$tag" = 0.0.0 ]; then
	version="$tag+git$n.$sha"
fi
if [ -n "$dirty" ]; then
	case $version in
	*+*) version="$version.dirty" ;;
	*) version="$version+dirty" ;;
	esac
fi
printf '%s\n' "$version"
