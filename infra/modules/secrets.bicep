@description('Key Vault holding the app\'s secrets.')
param keyVaultName string
param location string
param tags object
@description('User-assigned identity (Key Vault Secrets Officer on the vault) the script runs as.')
param deployIdentityId string

// Creates each secret with a random value only when it does not exist yet: redeploying keeps every secret, so
// device tokens and page tokens stay valid. Rotation is a deliberate `az keyvault secret set` (see the README).
resource createOnce 'Microsoft.Resources/deploymentScripts@2023-08-01' = {
  name: 'fleet-secrets-once'
  location: location
  tags: tags
  kind: 'AzureCLI'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: { '${deployIdentityId}': {} }
  }
  properties: {
    azCliVersion: '2.61.0'
    retentionInterval: 'PT1H'
    cleanupPreference: 'OnSuccess'
    environmentVariables: [
      { name: 'VAULT', value: keyVaultName }
    ]
    scriptContent: '''
set -eu
for secret in fleet-bootstrap-key fleet-device-token-key fleet-page-token-key; do
  if ! az keyvault secret show --vault-name "$VAULT" --name "$secret" --only-show-errors --output none 2>/dev/null; then
    az keyvault secret set --vault-name "$VAULT" --name "$secret" --value "$(openssl rand -hex 32)" --only-show-errors --output none
  fi
done
'''
  }
}

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' existing = {
  name: keyVaultName
}

// Versionless references: the app always reads a secret's current version.
output bootstrapKeyUri string = '${vault.properties.vaultUri}secrets/fleet-bootstrap-key'
output deviceTokenKeyUri string = '${vault.properties.vaultUri}secrets/fleet-device-token-key'
output pageTokenKeyUri string = '${vault.properties.vaultUri}secrets/fleet-page-token-key'
