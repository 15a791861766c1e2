package Test::PCM::Billing;

# Synthetic FOCUS exports with answers known in advance: daily charges of
# the example stack's resources (conf/example-stack.json), a weekly
# pattern, deterministic noise, and whatever a test plants on top.

use strict;
use warnings;
use Exporter 'import';
use POSIX qw(strftime);

our @EXPORT_OK = qw(focus_csv day_of rng example_ids urn start_billing);

my @COLS = qw(ChargePeriodStart ChargePeriodEnd BilledCost EffectiveCost ListCost
    BillingCurrency ServiceName ResourceId ChargeCategory ConsumedQuantity
    ConsumedUnit SkuId PricingCategory CommitmentDiscountId Tags);

# The example stack's billable resources: id => [service, URN name part].
sub example_ids {
    return (
        'i-0a11b2c3d4e5f60711' => ['Amazon Elastic Compute Cloud', 'aws:ec2/instance:Instance::web-1'],
        'i-0a21b2c3d4e5f60712' => ['Amazon Elastic Compute Cloud', 'aws:ec2/instance:Instance::web-2'],
        'orders-db-3f2a1c' => ['Amazon Relational Database Service', 'aws:rds/instance:Instance::orders-db'],
        'eipalloc-0f405162738495a6b' => ['Amazon Virtual Private Cloud', 'aws:ec2/eip:Eip::nat-ip'],
        'i-0c9d8e7f6a5b4c3d2' => ['Amazon Elastic Compute Cloud', 'aws:ec2/instance:Instance::ci-runner'],
        'vol-0a9b8c7d6e5f4a3b2' => ['Amazon Elastic Compute Cloud', 'aws:ebs/volume:Volume::ci-cache'],
        'shop-prod-assets-5c1e' => ['Amazon Simple Storage Service', 'aws:s3/bucket:Bucket::assets'],
    );
}

sub urn { "urn:pulumi:prod::shop::$_[0]" }

# Run $t with the example stack (and `stacks`, more YAML lines under
# stacks:), the exports `files` (name => CSV text) in DIR/billing, `billing`
# (more lines under billing:), `extra` (more top-level YAML) and no answer
# cache, so every call computes.
sub start_billing {
    my ($t, %o) = @_;
    my $d = $t->dir;
    mkdir "$d/billing";
    $t->write_file("billing/$_", $o{files}{$_}) for sort keys %{$o{files} // {}};
    $t->write_config($t->base_config(extra => "stacks:\n  example: builtin:example\n"
        . ($o{stacks} // '') . "billing:\n  focus:\n    - $d/billing\n" . ($o{billing} // '')
        . ($o{extra} // '') . "cache:\n  enabled: false\n"));
    $t->run;
    return $t;
}

# Epoch seconds of day n after $base (YYYY-MM-DD, UTC).
sub day_of {
    my ($base, $n) = @_;
    my ($y, $m, $d) = split /-/, $base;
    require Time::Local;
    return Time::Local::timegm(0, 0, 0, $d, $m - 1, $y) + 86400 * $n;
}

# A small deterministic generator (LCG): the same numbers on every machine.
sub rng {
    my $s = shift // 1;
    return sub { $s = ($s * 1103515245 + 12345) % 2147483648; return $s / 2147483648; };
}

sub stamp { strftime('%Y-%m-%dT%H:%M:%SZ', gmtime $_[0]) }

# Rows: hashes with start (epoch), days (default 1), cost, and optionally
# id, service, category, qty, unit, sku, pricing, commitment, list, tags
# (a hash), billed, currency.
sub focus_csv {
    my (@rows) = @_;
    my $out = join(',', @COLS) . "\n";
    for my $r (@rows) {
        my $end = $r->{start} + 86400 * ($r->{days} // 1);
        my $tags = $r->{tags} ? '"{' . join(', ', map { "\"\"$_\"\": \"\"$r->{tags}{$_}\"\"" }
            sort keys %{$r->{tags}}) . '}"' : '';
        $out .= join(',', stamp($r->{start}), stamp($end),
            sprintf('%.6f', $r->{billed} // $r->{cost}), sprintf('%.6f', $r->{cost}),
            defined $r->{list} ? sprintf('%.6f', $r->{list}) : '',
            $r->{currency} // 'USD', "\"$r->{service}\"", $r->{id} // '',
            $r->{category} // 'Usage', defined $r->{qty} ? sprintf('%.6f', $r->{qty}) : '',
            $r->{unit} // '', $r->{sku} // '', $r->{pricing} // 'Standard',
            $r->{commitment} // '', $tags) . "\n";
    }
    return $out;
}

1;
