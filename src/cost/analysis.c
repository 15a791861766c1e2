#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../core/util.h"
#include "analysis.h"

#define DAY	86400

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

double
median(double *v, int n)
{
	if (n <= 0)
		return NAN;
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* --- anomalies ----------------------------------------------------------- */

int
anomaly_baseline(const double *x, int t, double *base)
{
	double v[4];
	int k, n = 0;

	for (k = 1; k <= 4; k++)
		if (t - 7 * k >= 0)
			v[n++] = x[t - 7 * k];
	if (n < 2)
		return -1;
	*base = median(v, n);
	return 0;
}

int
anomaly_spread(const double *x, int t, double *spread)
{
	double r[28], b, m;
	int u, n = 0, i;

	for (u = t - 28 > 0 ? t - 28 : 0; u < t; u++)
		if (anomaly_baseline(x, u, &b) == 0)
			r[n++] = x[u] - b;
	if (n < 7)
		return -1;
	m = median(r, n);
	for (i = 0; i < n; i++)
		r[i] = fabs(r[i] - m);
	*spread = 1.4826 * median(r, n);
	return 0;
}

static const struct sensitivity levels[] = {
	{ "LOW", 6, 0.50, 0.010 },
	{ "MEDIUM", 4, 0.20, 0.005 },
	{ "HIGH", 3, 0.10, 0.002 },
};

const struct sensitivity *
anomaly_sensitivity(const char *name)
{
	size_t i;

	for (i = 0; i < nitems(levels); i++)
		if (strcasecmp(levels[i].name, name) == 0)
			return &levels[i];
	return NULL;
}

const char *
anomaly_severity(double dev)
{
	dev = fabs(dev);
	if (isnan(dev) || dev >= 1)
		return "CRITICAL";
	return dev >= 0.5 ? "HIGH" : dev >= 0.25 ? "MEDIUM" : "LOW";
}

/* --- forecasts ----------------------------------------------------------- */

static int
weekday(int64_t day0, int t)
{
	/* 1970-01-01 was a Thursday; Monday is 0. */
	return (int)(((day0 / DAY + t) % 7 + 7 + 3) % 7);
}

/* The regressors of day t. */
static void
row_of(const struct forecast *f, int t, double *xr)
{
	int i;

	if (!f->weekly) {
		xr[0] = 1;
		xr[1] = t;
		return;
	}
	for (i = 0; i < 7; i++)
		xr[i] = weekday(f->day0, t) == i;
	xr[7] = t;
}

/* Invert a (p x p, symmetric positive definite) by Gauss-Jordan: -1 singular. */
static int
invert(double a[8][8], int p, double inv[8][8])
{
	double m[8][16], f;
	int i, j, k, piv;

	for (i = 0; i < p; i++)
		for (j = 0; j < 2 * p; j++)
			m[i][j] = j < p ? a[i][j] : (j - p == i);
	for (i = 0; i < p; i++) {
		piv = i;
		for (k = i + 1; k < p; k++)
			if (fabs(m[k][i]) > fabs(m[piv][i]))
				piv = k;
		if (fabs(m[piv][i]) < 1e-9)
			return -1;
		for (j = 0; j < 2 * p; j++) {
			f = m[i][j];
			m[i][j] = m[piv][j];
			m[piv][j] = f;
		}
		f = m[i][i];
		for (j = 0; j < 2 * p; j++)
			m[i][j] /= f;
		for (k = 0; k < p; k++) {
			if (k == i)
				continue;
			f = m[k][i];
			for (j = 0; j < 2 * p; j++)
				m[k][j] -= f * m[i][j];
		}
	}
	for (i = 0; i < p; i++)
		for (j = 0; j < p; j++)
			inv[i][j] = m[i][j + p];
	return 0;
}

/* Ordinary least squares over x[0..n). */
static int
ols(const double *x, int n, struct forecast *f)
{
	double xtx[8][8], xty[8], xr[8], rss = 0, yhat;
	int t, i, j;

	f->n = n;
	f->weekly = n >= 14;
	f->p = f->weekly ? 8 : 2;
	memset(xtx, 0, sizeof(xtx));
	memset(xty, 0, sizeof(xty));
	for (t = 0; t < n; t++) {
		row_of(f, t, xr);
		for (i = 0; i < f->p; i++) {
			xty[i] += xr[i] * x[t];
			for (j = 0; j < f->p; j++)
				xtx[i][j] += xr[i] * xr[j];
		}
	}
	if (invert(xtx, f->p, f->inv) == -1)
		return -1;
	for (i = 0; i < f->p; i++) {
		f->beta[i] = 0;
		for (j = 0; j < f->p; j++)
			f->beta[i] += f->inv[i][j] * xty[j];
	}
	for (t = 0; t < n; t++) {
		row_of(f, t, xr);
		for (yhat = 0, i = 0; i < f->p; i++)
			yhat += f->beta[i] * xr[i];
		rss += (x[t] - yhat) * (x[t] - yhat);
	}
	f->sigma = n > f->p ? sqrt(rss / (n - f->p)) : 0;
	return 0;
}

int
forecast_fit(const double *x, int n, int64_t day0, struct forecast *f,
    char *why, size_t whylen)
{
	struct forecast bt;
	double sum = 0, m, lo, hi;
	int h, t, cnt = 0;

	memset(f, 0, sizeof(*f));
	f->day0 = day0;
	f->mape = NAN;
	if (n < 7) {
		snprintf(why, whylen, "a forecast needs at least 7 days of history;"
		    " the data has %d", n);
		return -1;
	}
	if (ols(x, n, f) == -1) {
		snprintf(why, whylen, "the history cannot be fitted (singular)");
		return -1;
	}
	f->method = f->weekly ? "linear trend plus day-of-week levels, ordinary"
	    " least squares" : "linear trend, ordinary least squares (under 14"
	    " days of history: no day-of-week terms)";
	for (f->nonneg = 1, t = 0; t < n; t++)
		f->nonneg &= x[t] >= 0;
	/* Backtest: refit without the last h days, predict them. */
	h = n / 3 < 14 ? n / 3 : 14;
	if (n - h >= 7 && h >= 3) {
		memset(&bt, 0, sizeof(bt));
		bt.day0 = day0;
		if (ols(x, n - h, &bt) == 0) {
			for (t = n - h; t < n; t++) {
				forecast_at(&bt, t, 0.5, &m, &lo, &hi);
				if (x[t] != 0) {
					sum += fabs((x[t] - m) / x[t]);
					cnt++;
				}
			}
			f->backtest_days = h;
			f->mape = cnt ? 100 * sum / cnt : NAN;
		}
	}
	return 0;
}

void
forecast_at(const struct forecast *f, int t, double level, double *mean,
    double *lo, double *hi)
{
	double xr[8], v = 0, q, w;
	int i, j;

	row_of(f, t, xr);
	*mean = 0;
	for (i = 0; i < f->p; i++) {
		*mean += f->beta[i] * xr[i];
		for (j = 0; j < f->p; j++)
			v += xr[i] * f->inv[i][j] * xr[j];
	}
	q = f->n > f->p ? t_quantile(0.5 + level / 2, f->n - f->p) : 0;
	w = q * f->sigma * sqrt(1 + v);
	*lo = *mean - w;
	*hi = *mean + w;
	if (f->nonneg) {
		*mean = *mean < 0 ? 0 : *mean;
		*lo = *lo < 0 ? 0 : *lo;
		*hi = *hi < 0 ? 0 : *hi;
	}
}

/* Acklam's rational approximation (relative error below 1.2e-9). */
double
normal_quantile(double p)
{
	static const double a[] = { -3.969683028665376e+01, 2.209460984245205e+02,
	    -2.759285104469687e+02, 1.383577518672690e+02, -3.066479806614716e+01,
	    2.506628277459239e+00 };
	static const double b[] = { -5.447609879822406e+01, 1.615858368580409e+02,
	    -1.556989798598866e+02, 6.680131188771972e+01, -1.328068155288572e+01 };
	static const double c[] = { -7.784894002430293e-03, -3.223964580411365e-01,
	    -2.400758277161838e+00, -2.549732539343734e+00, 4.374664141464968e+00,
	    2.938163982698783e+00 };
	static const double d[] = { 7.784695709041462e-03, 3.224671290700398e-01,
	    2.445134137142996e+00, 3.754408661907416e+00 };
	double q, r;

	if (p <= 0)
		return -INFINITY;
	if (p >= 1)
		return INFINITY;
	if (p < 0.02425) {
		q = sqrt(-2 * log(p));
		return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
		    ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
	}
	if (p > 1 - 0.02425)
		return -normal_quantile(1 - p);
	q = p - 0.5;
	r = q * q;
	return (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
	    (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
}

/* Cornish-Fisher expansion of Student's t about the normal quantile. */
double
t_quantile(double p, int df)
{
	double z = normal_quantile(p), z2 = z * z, n = df;

	if (df <= 0 || isinf(z))
		return z;
	return z + z * (z2 + 1) / (4 * n) +
	    z * ((5 * z2 + 16) * z2 + 3) / (96 * n * n) +
	    z * (((3 * z2 + 19) * z2 + 17) * z2 - 15) / (384 * n * n * n);
}
