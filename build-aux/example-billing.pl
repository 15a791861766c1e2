#!/usr/bin/perl
# example-billing.pl > conf/example-billing.csv
#
# Writes the bundled billing sample: a synthetic FOCUS 1.0 export of the
# example stack (conf/example-stack.json) for August to October 2026, so
# the actual-cost tools answer out of the box.  Prices are the built-in
# catalogue's (conf/catalog.txt); usage has a weekly pattern and
# deterministic noise; a few events are planted for the analyses to find:
# a NAT data-transfer spike on 2026-10-12, a support purchase on
# 2026-09-15, a credit on 2026-10-01, and spend of resources outside the
# stack.  Deterministic: the same file on every machine.

use strict;
use warnings;
use Time::Local qw(timegm);
use POSIX qw(strftime);

my %price;
open my $fh, '<', ($ENV{srcdir} // '.') . '/conf/catalog.txt' or die "conf/catalog.txt: $!";
while (<$fh>) {
    next if /^\s*(#|@|$)/;
    my ($p, $k, $sku, $regions, $amount) = split;
    $price{"$k $sku"} //= $amount if $p eq 'aws' && $regions =~ /us-east-1|\*/;
}
sub price { $price{$_[0]} // die "no catalogue price for $_[0]" }

my $seed = 20260801;
sub rnd { $seed = ($seed * 1103515245 + 12345) % 2147483648; return $seed / 2147483648; }
sub noisy { my ($v, $f) = @_; return $v * (1 + $f * (rnd() - 0.5) * 2); }

my @cols = qw(BillingAccountId BillingCurrency BillingPeriodStart BillingPeriodEnd
    ChargePeriodStart ChargePeriodEnd ChargeCategory ChargeDescription BilledCost
    EffectiveCost ListCost ListUnitPrice ConsumedQuantity ConsumedUnit PricingCategory
    ProviderName RegionId ResourceId ResourceName ResourceType ServiceName SkuId
    SubAccountId Tags CommitmentDiscountId);
print join(',', @cols), "\n";

sub csvq { my $v = shift // ''; return $v =~ /[",]/ ? '"' . ($v =~ s/"/""/gr) . '"' : $v; }
sub stamp { strftime('%Y-%m-%d %H:%M:%S', gmtime $_[0]) }

my %tags = (
    prod_web => '{"env": "prod", "service": "web", "team": "storefront"}',
    prod_orders => '{"env": "prod", "service": "orders", "team": "orders"}',
    prod_media => '{"env": "prod", "service": "media", "team": "storefront"}',
    platform => '{"env": "prod", "team": "platform"}',
    dev_ci => '{"env": "dev", "service": "ci", "team": "platform"}',
);

sub row {
    my (%r) = @_;
    my $end = $r{start} + ($r{span} // 86400);
    my ($y, $m) = (gmtime $r{start})[5, 4];
    my $bps = timegm(0, 0, 0, 1, $m, $y + 1900);
    my $bpe = $m == 11 ? timegm(0, 0, 0, 1, 0, $y + 1901) : timegm(0, 0, 0, 1, $m + 1, $y + 1900);
    my $cost = sprintf('%.10f', $r{cost});
    print join(',', '123456789012', 'USD', stamp($bps), stamp($bpe), stamp($r{start}), stamp($end),
        $r{category} // 'Usage', csvq($r{desc}), $cost, sprintf('%.10f', $r{effective} // $r{cost}),
        sprintf('%.10f', $r{list} // $r{cost}), $r{unit_price} // '', defined $r{qty} ? sprintf('%.6f', $r{qty}) : '',
        csvq($r{unit}), $r{pricing} // 'Standard', 'AWS', $r{region} // 'us-east-1', csvq($r{id}), csvq($r{name}),
        csvq($r{type}), csvq($r{service}), $r{sku} // '', '123456789012', csvq($r{tags}), csvq($r{commitment})), "\n";
}

my $ec2 = 'Amazon Elastic Compute Cloud';
my $t0 = timegm(0, 0, 0, 1, 7, 2026);	# 2026-08-01
for my $n (0 .. 90) {
    my $day = $t0 + 86400 * $n;
    my $wd = (gmtime $day)[6];	# 0 Sunday
    my $busy = ($wd == 0 || $wd == 6) ? 0.55 : 1;
    my %d = (start => $day);
    for my $w (['i-0a11b2c3d4e5f60711', 'web-1'], ['i-0a21b2c3d4e5f60712', 'web-2']) {
        row(%d, id => $w->[0], name => $w->[1], type => 'Instance', service => $ec2, qty => 24,
            unit => 'Hrs', cost => 24 * price('ec2 t3.medium'), unit_price => price('ec2 t3.medium'),
            sku => 'SKU-T3MEDIUM-USE1', desc => 't3.medium Linux on-demand', tags => $tags{prod_web});
        row(%d, id => $w->[0], name => $w->[1], type => 'Instance', service => $ec2, qty => 30 / 30.4375,
            unit => 'GB-Mo', cost => 30 / 30.4375 * price('ebs gp3'), sku => 'SKU-GP3-USE1',
            desc => 'gp3 root volume', tags => $tags{prod_web});
    }
    row(%d, id => 'orders-db-3f2a1c', name => 'orders-db', type => 'DBInstance',
        service => 'Amazon Relational Database Service', qty => 48, unit => 'Hrs',
        cost => 48 * price('rds-postgres db.m5.large'), sku => 'SKU-DBM5L-PG-MAZ',
        desc => 'db.m5.large PostgreSQL Multi-AZ', tags => $tags{prod_orders});
    row(%d, id => 'orders-db-3f2a1c', name => 'orders-db', type => 'DBInstance',
        service => 'Amazon Relational Database Service', qty => 200 / 30.4375, unit => 'GB-Mo',
        cost => 200 / 30.4375 * price('rds-storage gp3'), sku => 'SKU-RDSGP3',
        desc => 'gp3 storage, Multi-AZ', tags => $tags{prod_orders});
    row(%d, id => 'sessions', name => 'sessions', type => 'ReplicationGroup',
        service => 'Amazon ElastiCache', qty => 48, unit => 'Hrs',
        cost => 48 * price('elasticache cache.t3.small'), sku => 'SKU-CT3SMALL',
        desc => 'cache.t3.small Redis', tags => $tags{prod_web});
    my $natgb = noisy(25 * $busy, 0.2);
    $natgb = 420 if strftime('%F', gmtime $day) eq '2026-10-12';	# planted
    row(%d, id => 'nat-05162738495a6b7c8', name => 'nat', type => 'NatGateway',
        service => $ec2, qty => 24, unit => 'Hrs', cost => 24 * price('nat gateway'),
        sku => 'SKU-NATHR', desc => 'NAT gateway hours', tags => $tags{platform});
    row(%d, id => 'nat-05162738495a6b7c8', name => 'nat', type => 'NatGateway',
        service => $ec2, qty => $natgb, unit => 'GB', cost => $natgb * price('nat-data gateway'),
        sku => 'SKU-NATGB', desc => 'NAT gateway data processed', tags => $tags{platform});
    row(%d, id => 'eipalloc-0f405162738495a6b', name => 'nat-ip', type => 'ElasticIP',
        service => 'Amazon Virtual Private Cloud', qty => 24, unit => 'Hrs',
        cost => 24 * price('publicipv4 address'), sku => 'SKU-IPV4', desc => 'public IPv4 address in use');
    my $alb = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/web-alb/5f0a3c2b1d4e6f70';
    my $lcu = noisy(24 * 1.2 * $busy, 0.15);
    row(%d, id => $alb, name => 'web-alb', type => 'LoadBalancer', service => 'Elastic Load Balancing',
        qty => 24, unit => 'Hrs', cost => 24 * price('elb application'), sku => 'SKU-ALBHR',
        desc => 'Application load balancer hours', tags => $tags{prod_web});
    row(%d, id => $alb, name => 'web-alb', type => 'LoadBalancer', service => 'Elastic Load Balancing',
        qty => $lcu, unit => 'LCU-Hrs', cost => $lcu * price('elb-lcu application'),
        sku => 'SKU-ALBLCU', desc => 'Application load balancer LCU hours', tags => $tags{prod_web});
    row(%d, id => 'shop-prod-assets-5c1e', name => 'assets', type => 'Bucket',
        service => 'Amazon Simple Storage Service', qty => (500 + $n) / 30.4375, unit => 'GB-Mo',
        cost => (500 + $n) / 30.4375 * price('s3 STANDARD'), sku => 'SKU-S3STD',
        desc => 'S3 Standard storage', tags => $tags{prod_web});
    my $req = noisy(40000 * $busy, 0.1);
    row(%d, id => 'shop-prod-assets-5c1e', name => 'assets', type => 'Bucket',
        service => 'Amazon Simple Storage Service', qty => $req, unit => 'Requests',
        cost => $req / 1000 * price('s3-requests GET'), sku => 'SKU-S3GET',
        desc => 'S3 GET requests', tags => $tags{prod_web});
    my $inv = noisy(300000 * $busy, 0.15);
    row(%d, id => 'thumbnailer-2d8e1b',
        name => 'thumbnailer', type => 'Function', service => 'AWS Lambda', qty => $inv,
        unit => 'Requests', cost => $inv / 1e6 * price('lambda-requests arm64')
        + $inv * 0.4 * 0.5 * price('lambda-duration arm64'), sku => 'SKU-LAMBDA-ARM',
        desc => 'Lambda requests and duration (arm64)', tags => $tags{prod_media});
    row(%d, id => '7b3e1f2a-4c5d-4e6f-8a9b-0c1d2e3f4a5b', name => 'data-key', type => 'Key',
        service => 'AWS Key Management Service', qty => 1 / 30.4375, unit => 'Keys',
        cost => price('kms key') / 30.4375, sku => 'SKU-KMS', desc => 'customer managed key',
        tags => $tags{prod_orders});
    # Non-production CI, running around the clock.
    row(%d, id => 'i-0c9d8e7f6a5b4c3d2', name => 'ci-runner', type => 'Instance', service => $ec2,
        qty => 24, unit => 'Hrs', cost => 24 * price('ec2 t3.large'), sku => 'SKU-T3LARGE-USE1',
        desc => 't3.large Linux on-demand', tags => $tags{dev_ci});
    row(%d, id => 'vol-0a9b8c7d6e5f4a3b2', name => 'ci-cache', type => 'Volume', service => $ec2,
        qty => 200 / 30.4375, unit => 'GB-Mo', cost => 200 / 30.4375 * price('ebs gp2'),
        sku => 'SKU-GP2-USE1', desc => 'gp2 volume', tags => $tags{dev_ci});
    # Outside the stack: another team's instance, partly under a savings plan.
    row(%d, id => 'i-0fedcba9876543210', name => 'batch', type => 'Instance', service => $ec2,
        qty => 24, unit => 'Hrs', cost => 24 * price('ec2 t3.medium') * 0.72,
        list => 24 * price('ec2 t3.medium'), pricing => 'Committed', sku => 'SKU-T3MEDIUM-USE1',
        commitment => 'arn:aws:savingsplans::123456789012:savingsplan/sp-0a1b2c',
        desc => 't3.medium covered by a Compute Savings Plan');
}
row(start => timegm(0, 0, 0, 15, 8, 2026), span => 0, category => 'Purchase', cost => 29,
    service => 'AWS Support (Developer)', desc => 'AWS Support (Developer) monthly fee');
row(start => timegm(0, 0, 0, 1, 9, 2026), span => 0, category => 'Credit', cost => -50,
    service => $ec2, desc => 'Promotional credit');
