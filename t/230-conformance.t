#!/usr/bin/perl
# The official MCP conformance suite (@modelcontextprotocol/conformance,
# pinned in t/npm) against /mcp with mcp.conformance on: 0.1.16's active
# suite, and 0.2.0-alpha.12 for revisions 2025-11-25 and 2026-07-28
# (input-required results, header mirroring), sampling and elicitation
# round trips across workers included.

use strict;
use warnings;
use Test::More;
use Test::PCM;

my $t = Test::PCM->new;
$t->write_config($t->base_config(extra => "mcp:\n  conformance: true\n"));
$t->run;
Test::PCM::conformance('http://localhost:' . $t->port . '/mcp', 'direct');
$t->finish;
done_testing;
