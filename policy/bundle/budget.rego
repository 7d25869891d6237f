# Budgets: the cost report paved computes from the rendered workloads
# (requests × replica ceiling × platform prices) against the app's own
# budget.monthlyUSD and the team's platform budget.
#
# input: {"apps": [{team, app, monthlyUSD, budgetUSD (or null), environments: {env: usd}}],
#         "teams": [{team, monthlyUSD, budgetUSD, clusters: {cluster: usd}}]}
package paved.budget

# METADATA
# title: An app's monthly cost ceiling must fit its own budget
# description: budget.monthlyUSD is the team's promise for the app; a spec that costs more at maximum scale breaks it before the invoice does.
# custom:
#   security-severity: "2.0"
#   tags: [budget, efficiency]
#   remediation: Lower replicas.max or size, or raise budget.monthlyUSD in app.cue with the budget owner's agreement.
deny_app_budget contains result if {
	some a in input.apps
	a.budgetUSD != null
	a.monthlyUSD > a.budgetUSD
	result := {
		"msg": sprintf("%s/%s costs up to $%s a month across all environments, over its budget of $%s", [a.team, a.app, usd(a.monthlyUSD), usd(a.budgetUSD)]),
		"team": a.team,
		"app": a.app,
	}
}

# METADATA
# title: A team's apps together must fit the team's platform budget
# description: The platform budget is what the team has been granted across every cluster; the sum of its apps' cost ceilings must stay within it.
# custom:
#   security-severity: "2.0"
#   tags: [budget, efficiency]
#   remediation: Reduce the team's replicas or sizes, or ask the platform team to raise the team's monthlyBudgetUSD.
deny_team_budget contains result if {
	some t in input.teams
	t.monthlyUSD > t.budgetUSD
	result := {
		"msg": sprintf("team %s costs up to $%s a month across all clusters, over its platform budget of $%s", [t.team, usd(t.monthlyUSD), usd(t.budgetUSD)]),
		"team": t.team,
		"app": "",
	}
}

# usd formats an amount in dollars and cents (sprintf's %f does not take
# Rego's integers).
usd(x) := sprintf("%d.%02d", [floor(c / 100), c % 100]) if c := round(x * 100)
