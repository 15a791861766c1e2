#!/usr/bin/perl
# get_optimization_recommendations: each rule firing and not firing, each
# saving computed here from the catalogue and the billing data the test
# writes.  Two stacks share a layout: "example" as shipped, and "shop", a
# copy whose resources are billed differently (and web-2 is a t2).

use strict;
use warnings;
use JSON::PP;
use Test::More;
use Test::PCM qw(catalog_price);
use Test::PCM::Billing qw(focus_csv day_of urn start_billing);

my $t = Test::PCM->new;
my $d = $t->dir;
my $src = $ENV{PCM_SRCDIR} // '.';

# The "shop" stack: the example with other ids, web-2 a t2.medium.
my $state = decode_json(Test::PCM::slurp("$src/conf/example-stack.json"));
my %rename = ('ci-runner' => 'i-0shopci', 'assets' => 'shop-assets-busy', 'nat-ip' => 'eipalloc-shop',
    'web-1' => 'i-0shopweb1', 'web-2' => 'i-0shopweb2', 'ci-cache' => 'vol-0shopcache');
for my $r (@{$state->{deployment}{resources}}) {
    my ($name) = $r->{urn} =~ /::([^:]+)$/;
    next unless $rename{$name};
    $r->{id} = $rename{$name};
    $r->{outputs}{id} = $rename{$name} if $r->{outputs};
    delete $r->{outputs}{arn} if $r->{outputs};
    $r->{inputs}{instanceType} = 't2.medium' if $name eq 'web-2';
}
$t->write_file('shop.json', encode_json($state));

# 30 days of September 2024.
my @rows;
my $ec2 = 'Amazon Elastic Compute Cloud';
for my $n (0 .. 29) {
    my $day = day_of('2024-09-01', $n);
    my %h = (start => $day, unit => 'Hrs', service => $ec2);
    # example: web-1 24 h on demand; the same SKU committed elsewhere at 30% off.
    push @rows, { %h, id => 'i-0a11b2c3d4e5f60711', qty => 24, cost => 24 * 0.0416, sku => 'SKU-T3M' };
    push @rows, { %h, id => 'i-committed', qty => 24, cost => 24 * 0.0416 * 0.7, list => 24 * 0.0416,
        sku => 'SKU-T3M', pricing => 'Committed', commitment => 'arn:aws:savingsplans::1:savingsplan/sp-1' };
    # ci-runner (tagged dev) all day here, ten hours a day in shop.
    push @rows, { %h, id => 'i-0c9d8e7f6a5b4c3d2', qty => 24, cost => 24 * 0.0832, sku => 'SKU-T3L' };
    push @rows, { %h, id => 'i-0shopci', qty => 10, cost => 10 * 0.0832, sku => 'SKU-T3L' };
    # shop web-2: a t2.medium, on demand, its SKU never committed.
    push @rows, { %h, id => 'i-0shopweb2', qty => 24, cost => 24 * 0.0464, sku => 'SKU-T2M' };
    # ci-cache: 200 GB of gp2.
    push @rows, { %h, id => 'vol-0a9b8c7d6e5f4a3b2', unit => 'GB-Mo', qty => 200 / 30, cost => 200 * 0.10 / 30 };
    # The elastic IP: billed, nothing consumed (example); in use (shop).
    push @rows, { %h, id => 'eipalloc-0f405162738495a6b', qty => 0, cost => 0.12,
        service => 'Amazon Virtual Private Cloud' };
    push @rows, { %h, id => 'eipalloc-shop', qty => 24, cost => 0.12, service => 'Amazon Virtual Private Cloud' };
    # assets: 1000 GB in Standard, few requests; busy: many requests.
    for my $b (['shop-prod-assets-5c1e', 0.001], ['shop-assets-busy', 5]) {
        push @rows, { %h, id => $b->[0], unit => 'GB-Mo', qty => 1000 / 30, cost => 1000 * 0.023 / 30,
            service => 'Amazon Simple Storage Service' };
        push @rows, { %h, id => $b->[0], unit => 'Requests', qty => 1000, cost => $b->[1],
            service => 'Amazon Simple Storage Service' };
    }
}
start_billing($t, files => { 'sep.csv' => focus_csv(@rows) }, stacks => "  shop: $d/shop.json\n");

sub recs {
    my $r = $t->tool(get_optimization_recommendations => { @_ });
    return $r->{structuredContent} // $r;
}
sub find { my ($sc, $type, $name) = @_; return (grep { $_->{type} eq $type && $_->{resource_urn} eq urn($name) } @{$sc->{recommendations}})[0] // undef; }
sub skipped { my ($sc, $type, $name) = @_; return (grep { $_->{type} eq $type && ($_->{resource_urn} // '') eq urn($name) } @{$sc->{not_recommended}})[0]; }
sub near { my ($got, $want, $what) = @_; ok(defined $got && abs($got - $want) < 0.011, "$what: $want") or diag("got " . ($got // 'none')); }

my %proj;	# projected monthly cost by URN, the engine's, for the billing scale
for my $s (qw(example shop)) {
    my $p = $t->tool(analyze_projected_costs => { stack_name => $s })->{structuredContent};
    $proj{$s}{$_->{urn}} = $_->{monthly_cost} for @{$p->{resources}};
}
my $month = 30.4375 / 30;	# a 30-day lookback to a month
my $ex = recs(stack_name => 'example');
ok($ex->{metadata}{billing_data_used}, 'billing data used');
is($ex->{metadata}{lookback}{start}, '2024-09-01T00:00:00Z', 'the lookback: 30 days to the end of the data');

# RIGHTSIZING: t3.medium -> t4g.medium, scaled to web-1's actual spend.
my $w1 = urn('aws:ec2/instance:Instance::web-1');
my $cat = (catalog_price(qw(aws ec2 t3.medium us-east-1)) - catalog_price(qw(aws ec2 t4g.medium us-east-1))) * 730;
my $actual = 24 * 0.0416 * 30 * $month;
my $r = find($ex, 'RIGHTSIZING', 'aws:ec2/instance:Instance::web-1');
near($r->{projected_savings}, $cat * $actual / $proj{example}{$w1}, 'rightsizing web-1 from its actual spend');
near($r->{current_cost}, $actual, 'its current cost is what it is billed');
like($r->{basis}, qr/^billing/, 'on a billing basis');
# Not billed: the database, priced from the catalogue.
$r = find($ex, 'RIGHTSIZING', 'aws:rds/instance:Instance::orders-db');
like($r->{basis}, qr/^catalogue/, 'an unbilled resource is priced from the catalogue') or diag explain $ex->{recommendations};

# GENERATION_UPGRADE: fires for shop's t2.medium only.
my $shop = recs(stack_name => 'shop');
my $w2 = urn('aws:ec2/instance:Instance::web-2');
$cat = (catalog_price(qw(aws ec2 t2.medium us-east-1)) - catalog_price(qw(aws ec2 t3.medium us-east-1))) * 730;
near((find($shop, 'GENERATION_UPGRADE', 'aws:ec2/instance:Instance::web-2') // {})->{projected_savings},
    $cat * 24 * 0.0464 * 30 * $month / $proj{shop}{$w2}, 't2.medium -> t3.medium');
ok(!find($ex, 'GENERATION_UPGRADE', 'aws:ec2/instance:Instance::web-2'), 'no upgrade for a current generation');

# STORAGE_OPTIMIZATION: gp2 -> gp3 on ci-cache; S3 Standard -> IA for the quiet bucket only.
my $cc = urn('aws:ebs/volume:Volume::ci-cache');
near((find($ex, 'STORAGE_OPTIMIZATION', 'aws:ebs/volume:Volume::ci-cache') // {})->{projected_savings},
    200 * (0.10 - 0.08) * (200 * 0.10 * $month) / $proj{example}{$cc}, 'gp2 -> gp3 from its billed GB');
my $gb = 1000 * $month;
near((find($ex, 'STORAGE_OPTIMIZATION', 'aws:s3/bucket:Bucket::assets') // {})->{projected_savings},
    $gb * (catalog_price(qw(aws s3 STANDARD us-east-1)) - catalog_price(qw(aws s3 STANDARD_IA us-east-1))),
    'a quiet Standard bucket to Standard-IA');
ok(!find($shop, 'STORAGE_OPTIMIZATION', 'aws:s3/bucket:Bucket::assets'), 'a busy bucket stays in Standard');

# IDLE_RESOURCES: the unused address only.
near((find($ex, 'IDLE_RESOURCES', 'aws:ec2/eip:Eip::nat-ip') // {})->{projected_savings}, 0.12 * 30 * $month,
    'an address billed with nothing consumed');
ok(!find($shop, 'IDLE_RESOURCES', 'aws:ec2/eip:Eip::nat-ip'), 'an address in use is not idle');

# SCHEDULING: ci-runner all day (example), ten hours a day (shop).
my $ci = urn('aws:ec2/instance:Instance::ci-runner');
$r = find($ex, 'SCHEDULING', 'aws:ec2/instance:Instance::ci-runner');
ok($r, 'non-production compute running around the clock');
ok(!find($shop, 'SCHEDULING', 'aws:ec2/instance:Instance::ci-runner'), 'not when it already stops');
ok(skipped($shop, "SCHEDULING", "aws:ec2/instance:Instance::ci-runner"), "skipped listed") or diag explain $shop;
like((skipped($shop, 'SCHEDULING', 'aws:ec2/instance:Instance::ci-runner') // {})->{reason} // q(), qr/under 95%/, 'and says why');

# RESERVED_INSTANCES: web-1's SKU is committed elsewhere at 30% off.
$r = find($ex, 'RESERVED_INSTANCES', 'aws:ec2/instance:Instance::web-1');
near($r->{projected_savings}, 24 * 0.0416 * 0.3 * 30.4375, 'a commitment at the discount the data shows');
like($r->{source}, qr/committed-use charges of the same SKU/, 'the discount\'s source is stated');
like((skipped($shop, 'RESERVED_INSTANCES', 'aws:ec2/instance:Instance::web-2') // {})->{reason} // q(), qr/no commitment discount/,
    'no discount known for a SKU: said, not guessed');
ok((grep { $_->{type} eq 'SPOT_INSTANCES' } @{$ex->{not_recommended}}), 'spot: not computed, and said');

# Filters.
my $only = recs(stack_name => 'example', recommendation_types => ['IDLE_RESOURCES']);
is_deeply([ map { $_->{type} } @{$only->{recommendations}} ], ['IDLE_RESOURCES'], 'recommendation_types honoured');
my $min = recs(stack_name => 'example', minimum_savings => 5);
ok(!(grep { $_->{projected_savings} < 5 } @{$min->{recommendations}}) && @{$min->{recommendations}} > 0,
    'minimum_savings honoured');
my @s = map { $_->{projected_savings} } @{$ex->{recommendations}};
is_deeply(\@s, [ sort { $b <=> $a } @s ], 'largest saving first');
my $total = 0;
$total += $_ for @s;
near($ex->{total_monthly_savings}{USD}, $total, 'the total');
$r = $t->tool(get_optimization_recommendations => { stack_name => 'example', recommendation_types => ['MAGIC'] });
like($r->{content}[0]{text}, qr/recommendation_types\[0\]: "MAGIC" is not a known type/, 'an unknown type');
$r = $t->tool(get_recommendations => { stack_name => 'example', recommendation_types => ['COMMITMENT'] });
is($r->{structuredContent}{recommendations}[0]{type}, 'RESERVED_INSTANCES', 'the alias and COMMITMENT');

# No billing in the lookback: the catalogue's figures.
$r = recs(stack_name => 'example', as_of => '2023-01-01');
ok(!$r->{metadata}{billing_data_used}, 'no billing data in the lookback');
ok(find($r, 'SCHEDULING', 'aws:ec2/instance:Instance::ci-runner'), 'the catalogue rules still apply');
$t->finish;
done_testing;
