# nebula.m4 - autoconf support for building a Nebula connector outside the
# Nebula tree.  Installed into $(datadir)/aclocal by libnebula-sdk-dev.
#
# serial 2

# NEBULA_CONNECTOR([ABI_MAJOR:MIN_SDK_VERSION], [ACTION-IF-FOUND],
#                  [ACTION-IF-NOT-FOUND])
# ---------------------------------------------------------------------
# Find libnebula-sdk with pkg-config and check that it speaks connector ABI
# major ABI_MAJOR and is at least version MIN_SDK_VERSION, e.g.
# NEBULA_CONNECTOR([1:0.1.0]).  As with libgcrypt's "API:version", building
# against an SDK of another ABI major fails here, at configure time, not
# when nebula-host refuses the module.  A bare "VERSION" skips the ABI
# check; an empty argument means "1:0.1.0".
#
# Sets and substitutes:
#   NEBULA_SDK_CFLAGS, NEBULA_SDK_LIBS  from pkg-config
#   NEBULA_ABI_MAJOR, NEBULA_ABI_VERSION  what the SDK provides
#   nebula_connectordir  where to install the module: --with-nebula-
#                        connectordir=DIR, else the nebula_connectordir
#                        variable, else pkg-config's connectordir
#   NEBULA_CONNECTOR_CFLAGS   -fvisibility=hidden
#   NEBULA_CONNECTOR_LDFLAGS  libtool flags of a connector module: one
#                             exported symbol, every symbol resolved at
#                             link time and at load time
#
# In Makefile.am write -module literally (automake accepts a module name
# without "lib" only when it sees -module itself, not inside a variable),
# and drop the .la file libtool installs, which nebula-host never uses:
#   connectordir = $(nebula_connectordir)
#   connector_LTLIBRARIES = x.la
#   x_la_LDFLAGS = -module $(NEBULA_CONNECTOR_LDFLAGS)
#   install-data-hook:
#   	rm -f $(DESTDIR)$(connectordir)/x.la
#   uninstall-hook:
#   	rm -f $(DESTDIR)$(connectordir)/x.so
#
# Without ACTION-IF-NOT-FOUND a missing or unsuitable SDK is an error.
AC_DEFUN([NEBULA_CONNECTOR],
[AC_REQUIRE([PKG_PROG_PKG_CONFIG])dnl
nebula_req="m4_default([$1], [1:0.1.0])"
case $nebula_req in
  *:*)
    nebula_req_major=`echo "$nebula_req" | sed 's/:.*//'`
    nebula_req_version=`echo "$nebula_req" | sed 's/^[[^:]]*://'` ;;
  *)
    nebula_req_major=
    nebula_req_version=$nebula_req ;;
esac
nebula_ok=yes
PKG_CHECK_MODULES([NEBULA_SDK], [nebula-sdk >= $nebula_req_version], [],
  [nebula_ok=no
   nebula_why="nebula-sdk >= $nebula_req_version was not found by pkg-config: install libnebula-sdk-dev, or set PKG_CONFIG_PATH to the directory holding nebula-sdk.pc"])
if test "x$nebula_ok" = xyes; then
  PKG_CHECK_VAR([NEBULA_ABI_MAJOR], [nebula-sdk], [abi_major])
  PKG_CHECK_VAR([NEBULA_ABI_VERSION], [nebula-sdk], [abi_version])
  if test -n "$nebula_req_major"; then
    AC_MSG_CHECKING([whether nebula-sdk provides connector ABI $nebula_req_major])
    if test "x$NEBULA_ABI_MAJOR" = "x$nebula_req_major"; then
      AC_MSG_RESULT([yes (ABI $NEBULA_ABI_VERSION)])
    else
      AC_MSG_RESULT([no (ABI ${NEBULA_ABI_VERSION:-unknown})])
      nebula_ok=no
      nebula_why="this connector is written for connector ABI $nebula_req_major, but the nebula-sdk found provides ABI ${NEBULA_ABI_VERSION:-unknown}: install a libnebula-sdk-dev of ABI $nebula_req_major"
    fi
  fi
fi
AC_ARG_WITH([nebula-connectordir],
  [AS_HELP_STRING([--with-nebula-connectordir=DIR],
    [install the connector into DIR @<:@from pkg-config nebula-sdk@:>@])],
  [nebula_connectordir=$withval])
if test "x$nebula_ok" = xyes && test -z "$nebula_connectordir"; then
  PKG_CHECK_VAR([nebula_connectordir], [nebula-sdk], [connectordir], [],
    [nebula_ok=no
     nebula_why="nebula-sdk.pc has no connectordir variable: use --with-nebula-connectordir=DIR"])
fi
AC_SUBST([nebula_connectordir])
AC_SUBST([NEBULA_CONNECTOR_CFLAGS], ["-fvisibility=hidden"])
dnl The doubled dollar reaches make as "$$", which passes one "$" to libtool.
AC_SUBST([NEBULA_CONNECTOR_LDFLAGS],
  ["-module -avoid-version -no-undefined -export-symbols-regex '^nebula_connector_entry\$\$' -Wl,-z,now -Wl,-z,defs"])
if test "x$nebula_ok" = xyes; then
  m4_default([$2], [:])
else
  m4_default([$3], [AC_MSG_ERROR([$nebula_why])])
fi
])
