#!/usr/bin/perl
# The shared answer cache: an answer computed by one worker is served by
# another from the shared-memory segment; keys are the canonical arguments
# (key order does not matter); a reload starts a new key space; the TTL
# applies; cache.enabled: false is honoured.

use strict;
use warnings;
use JSON::PP;
use Test::More;
use Test::PCM qw(wait_for);

my $t = Test::PCM->new;
plan(skip_all => 'needs --enable-test-hooks') unless $t->has_hooks;
$t->write_config($t->base_config(workers => 2, extra => <<'Y'));
stacks:
  example: builtin:example
cache:
  ttl:
    cost_data: 30s
    pulumi_state: 2s
Y
$t->run;

sub call { my ($args, $tool) = @_; return $t->tool($tool // 'analyze_projected_costs', $args)->{structuredContent}; }
sub hits { my (undef, $j) = $t->json_get('/debug/shm?key=none'); return $j->{hits}; }

my $doc = Test::PCM::slurp(($ENV{PCM_SRCDIR} // '.') . '/conf/example-stack.json');
my $first = call({ pulumi_json => $doc });
is($first->{metadata}{cache}{status}, 'miss', 'first call: computed (miss)');
my $h0 = hits();
my $second = call({ pulumi_json => $doc });
is($second->{metadata}{cache}{status}, 'hit', 'the same arguments: served from the cache');
ok(hits() > $h0, 'the hit counter moved');
is($second->{total_monthly}, $first->{total_monthly}, 'the same answer');
# The hit is spliced from the stored text: all of it equal, but metadata.cache.
{
	my @r = map { scalar $t->tool(analyze_projected_costs => { pulumi_json => $doc,
	    default_region => 'eu-west-1' }) } 1 .. 2;
	is(join(' ', map { $_->{structuredContent}{metadata}{cache}{status} } @r), 'miss hit',
	    'new arguments: computed, then a hit');
	delete $_->{structuredContent}{metadata}{cache} for @r;
	is_deeply($r[1], $r[0], 'a hit is the computed answer: content, structuredContent, isError');
}
my $pid = $second->{metadata}{cache}{stored_by_pid};
ok($pid, 'the answer says which worker computed it');

# Kill that worker: the answer it stored is served by another process.
ok(kill('KILL', $pid), "kill the worker that computed it ($pid)");
ok(wait_for(sub { !kill(0, $pid) || (Test::PCM::proc_status($t, $pid)->{State} // 'Z') =~ /^Z/ }, 5), 'it is gone');
$t->allow_alert(qr/killed by signal 9/);
my $third;
ok(wait_for(sub { $third = eval { call({ pulumi_json => $doc }) }; $third }, 10), 'still answering');
is($third->{metadata}{cache}{status}, 'hit', 'another worker serves the cached answer');
is($third->{metadata}{cache}{stored_by_pid}, $pid, 'stored by the dead worker');

# Key order of the arguments does not make a new entry.
my $a1 = call({ stack_name => 'example', default_region => 'us-east-1' });
my $a2 = call({ default_region => 'us-east-1', stack_name => 'example' });
is($a2->{metadata}{cache}{status}, 'hit', 'arguments in another order: the same entry');
# Different arguments, different answers.
my $a3 = call({ stack_name => 'example', filters => { provider => 'aws', resource_type => 'rds' } });
is($a3->{metadata}{cache}{status}, 'miss', 'other arguments: computed');
ok($a3->{total_monthly} < $a1->{total_monthly}, 'and different');
# Named stacks follow their files: the shorter TTL (pulumi_state, 2s).
ok(wait_for(sub { call({ stack_name => 'example' })->{metadata}{cache}{status} eq 'miss' }, 8),
    'an answer about a named stack expires after cache.ttl.pulumi_state');

# A reload starts a new key space.
call({ pulumi_json => $doc });
is(call({ pulumi_json => $doc })->{metadata}{cache}{status}, 'hit', 'cached before the reload');
# One byte more at the end of a large argument: another key.
is(call({ pulumi_json => "$doc " })->{metadata}{cache}{status}, 'miss', 'a large argument one byte longer: computed');
is(call({ pulumi_json => "$doc " })->{metadata}{cache}{status}, 'hit', 'then a hit of its own');
is(call({ pulumi_json => $doc, filters => {} })->{metadata}{cache}{status}, 'miss',
    'an empty object more: computed');
is($t->reload, 'ok', 'reload');
ok(wait_for(sub { !grep { $t->generation_of($_) == 1 } $t->workers }, 10), 'old generation gone');
is(call({ pulumi_json => $doc })->{metadata}{cache}{status}, 'miss', 'after a reload: computed again');
$t->finish;

# cache.enabled: false
my $u = Test::PCM->new;
$u->write_config($u->base_config(extra => "cache:\n  enabled: false\n"));
$u->run;
$t = $u;
call({ pulumi_json => $doc });
ok(!exists call({ pulumi_json => $doc })->{metadata}{cache}, 'cache.enabled: false: nothing cached, nothing said');
$u->finish;
done_testing;
