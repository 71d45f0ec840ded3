using 'main.bicep'

param environmentName = 'prod'
param hostingPlan = 'Premium'
