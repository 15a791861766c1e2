/*
 * The statistics behind detect_cost_anomalies, forecast_costs and
 * track_budget, over daily cost series (doc/analysis.md has the methods
 * and their constants).
 */
#ifndef PCM_ANALYSIS_H
#define PCM_ANALYSIS_H

#include <stdint.h>

/* --- anomalies ----------------------------------------------------------- */

/*
 * The expected cost of day t: the median of the same weekday in the four
 * weeks before (two at least).  -1 when there is not enough history.
 */
int	 anomaly_baseline(const double *x, int t, double *base);
/*
 * The usual spread of day t's residuals from their baselines over the 28
 * days before it (seven residuals at least): 1.4826 x their median
 * absolute deviation, a robust standard deviation.  -1 without history.
 */
int	 anomaly_spread(const double *x, int t, double *spread);

struct sensitivity {
	const char	*name;
	double		 z;		/* robust score at least */
	double		 deviation;	/* |current - baseline| / baseline at least */
	double		 floor_share;	/* and at least this share of the
					 * scope's median daily cost */
};
/* LOW, MEDIUM, HIGH; NULL when unknown. */
const struct sensitivity *anomaly_sensitivity(const char *);
/* LOW .. CRITICAL by the relative deviation (NAN: from nothing). */
const char *anomaly_severity(double deviation);

double	 median(double *v, int n);	/* reorders v */

/* --- forecasts ----------------------------------------------------------- */

struct forecast {
	const char	*method;
	int		 n;		/* days of history fitted */
	int		 p;		/* parameters */
	int		 weekly;	/* day-of-week terms used */
	double		 beta[8];	/* 7 weekday levels + slope, or a, b */
	double		 inv[8][8];	/* (X'X)^-1 */
	double		 sigma;		/* residual standard deviation */
	int64_t		 day0;		/* UTC midnight of history day 0 */
	double		 mape;		/* backtest, NAN when not run */
	int		 backtest_days;
	int		 nonneg;	/* history never negative: bounds >= 0 */
};

/*
 * Fit a linear trend plus day-of-week model to n days of history starting
 * at day0 (a linear trend alone below 14 days), and backtest it on the
 * last days.  -1 with why below 7 days or when the fit is singular.
 */
int	 forecast_fit(const double *x, int n, int64_t day0, struct forecast *,
	    char *why, size_t whylen);
/*
 * The prediction for day index t (counted from day0) with its
 * prediction interval at confidence level (0..1).
 */
void	 forecast_at(const struct forecast *, int t, double level, double *mean,
	    double *lo, double *hi);
/* Quantiles of the standard normal and Student's t distributions. */
double	 normal_quantile(double p);
double	 t_quantile(double p, int df);

#endif
