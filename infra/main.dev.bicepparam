using 'main.bicep'

param environmentName = 'dev'
param hostingPlan = 'FlexConsumption'
